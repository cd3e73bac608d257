//! Folds a provider's streamed pieces into one assistant message.
//!
//! Tool calls arrive split across chunks and several at once, keyed by `index`: the id and name
//! usually come in a call's first piece and the arguments in fragments. This module owns that
//! bookkeeping so the loop only sees whole calls, in index order, each with an id.

use std::collections::BTreeMap;

use llm_repl_protocol::{ToolCall, Usage};

use crate::provider::StreamItem;

#[derive(Debug, Default, Clone)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// The growing answer of one model call.
#[derive(Debug, Default, Clone)]
pub struct Accumulator {
    text: String,
    calls: BTreeMap<u32, PartialCall>,
    usage: Option<Usage>,
    finish: Option<String>,
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one streamed item; returns the text delta to show, if any.
    pub fn push(&mut self, item: StreamItem) -> Option<String> {
        match item {
            StreamItem::Text(delta) => {
                if delta.is_empty() {
                    return None;
                }
                self.text.push_str(&delta);
                Some(delta)
            }
            StreamItem::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                let call = self.calls.entry(index).or_default();
                if let Some(id) = id.filter(|id| !id.is_empty()) {
                    call.id = id;
                }
                if let Some(name) = name.filter(|n| !n.is_empty()) {
                    // Some servers repeat the name in later pieces; others send it in pieces.
                    if call.name != name {
                        call.name.push_str(&name);
                    }
                }
                call.arguments.push_str(&arguments);
                None
            }
            StreamItem::Usage(usage) => {
                self.usage = Some(usage);
                None
            }
            StreamItem::Finish(reason) => {
                self.finish = Some(reason);
                None
            }
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }

    pub fn finish_reason(&self) -> Option<&str> {
        self.finish.as_deref()
    }

    /// The finished calls in index order. A call without an id gets `fallback_id(index)`; a call
    /// without a name keeps an empty name (the loop reports it to the model as unknown).
    pub fn tool_calls(&self, fallback_id: impl Fn(u32) -> String) -> Vec<ToolCall> {
        self.calls
            .iter()
            .map(|(index, call)| ToolCall {
                id: if call.id.is_empty() {
                    fallback_id(*index)
                } else {
                    call.id.clone()
                },
                name: call.name.clone(),
                arguments: call.arguments.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> StreamItem {
        StreamItem::ToolCallDelta {
            index,
            id: id.map(String::from),
            name: name.map(String::from),
            arguments: args.into(),
        }
    }

    #[test]
    fn interleaved_calls_are_reassembled_in_index_order() {
        let mut acc = Accumulator::new();
        assert_eq!(
            acc.push(StreamItem::Text("Let me ".into())).as_deref(),
            Some("Let me ")
        );
        acc.push(delta(1, Some("b"), Some("list_dir"), ""));
        acc.push(delta(0, Some("a"), Some("python"), "{\"co"));
        acc.push(delta(1, None, None, "{\"path\":\".\"}"));
        acc.push(delta(0, None, None, "de\": \"print(1)\"}"));
        acc.push(StreamItem::Text("check.".into()));
        acc.push(StreamItem::Finish("tool_calls".into()));
        let calls = acc.tool_calls(|i| format!("gen{i}"));
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "a");
        assert_eq!(calls[0].name, "python");
        assert_eq!(calls[0].arguments, r#"{"code": "print(1)"}"#);
        assert_eq!(calls[1].name, "list_dir");
        assert_eq!(calls[1].arguments, r#"{"path":"."}"#);
        assert_eq!(acc.text(), "Let me check.");
        assert_eq!(acc.finish_reason(), Some("tool_calls"));
    }

    #[test]
    fn missing_ids_get_fallbacks_and_repeated_names_are_not_doubled() {
        let mut acc = Accumulator::new();
        acc.push(delta(0, None, Some("python"), "{}"));
        acc.push(delta(0, None, Some("python"), ""));
        let calls = acc.tool_calls(|i| format!("call_{i}"));
        assert_eq!(calls[0].id, "call_0");
        assert_eq!(calls[0].name, "python");
    }

    #[test]
    fn usage_is_kept() {
        let mut acc = Accumulator::new();
        assert!(acc.usage().is_none());
        acc.push(StreamItem::Usage(Usage {
            input: 3,
            output: 4,
            ..Usage::default()
        }));
        assert_eq!(acc.usage().map(|u| u.total()), Some(7));
    }
}
