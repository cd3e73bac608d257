//! Resuming a stream that broke after part of the answer was handed on.
//!
//! The consumer already shows the partial answer, so a retried stream must not repeat it. The
//! retry's items are matched against what was delivered: the part that reproduces it is
//! swallowed, what goes beyond it is passed on, and any difference is a divergence (the model
//! answered differently this time), which ends the stream with an error while the partial answer
//! stays as it was. Deterministic servers (and many temperature-0 models) resume seamlessly;
//! others cost one extra request and end exactly as if no retry had been tried.

use std::collections::BTreeMap;

use llm_repl_core::StreamItem;

#[derive(Debug, Default, Clone)]
struct ToolSoFar {
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

/// What a stream has handed to the consumer so far.
#[derive(Debug, Default, Clone)]
pub struct Delivered {
    text: String,
    tools: BTreeMap<u32, ToolSoFar>,
    usage: bool,
    finish: Option<String>,
}

impl Delivered {
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.tools.is_empty() && !self.usage && self.finish.is_none()
    }

    /// Characters of text and tool arguments delivered (for the trace).
    pub fn chars(&self) -> usize {
        self.text.chars().count()
            + self
                .tools
                .values()
                .map(|t| t.arguments.chars().count())
                .sum::<usize>()
    }

    pub fn record(&mut self, item: &StreamItem) {
        match item {
            StreamItem::Text(t) => self.text.push_str(t),
            StreamItem::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => {
                let entry = self.tools.entry(*index).or_default();
                if entry.id.is_none() {
                    entry.id.clone_from(id);
                }
                if entry.name.is_none() {
                    entry.name.clone_from(name);
                }
                entry.arguments.push_str(arguments);
            }
            StreamItem::Usage(_) => self.usage = true,
            StreamItem::Finish(reason) => self.finish = Some(reason.clone()),
        }
    }
}

/// What to do with one item of a retried stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Already delivered: drop it.
    Suppress,
    /// New: pass this on (possibly the new tail of the item).
    Forward(StreamItem),
    /// The retry answers differently from what was delivered.
    Diverged(String),
}

/// Matches one retried stream against [`Delivered`].
#[derive(Debug, Default)]
pub struct Replay {
    text_pos: usize,
    tool_pos: BTreeMap<u32, usize>,
}

/// Splits `new` against the not-yet-replayed `rest`: `Ok(None)` swallowed, `Ok(Some(tail))` the
/// part beyond `rest`, `Err` when they differ.
fn overlap<'a>(rest: &str, new: &'a str) -> Result<Option<&'a str>, ()> {
    if rest.starts_with(new) {
        Ok(None)
    } else if let Some(tail) = new.strip_prefix(rest) {
        Ok(Some(tail))
    } else {
        Err(())
    }
}

impl Replay {
    pub fn new() -> Self {
        Self::default()
    }

    /// Filters one item, recording whatever is passed on into `delivered`.
    pub fn filter(&mut self, delivered: &mut Delivered, item: StreamItem) -> Step {
        match item {
            StreamItem::Text(text) => {
                let rest = &delivered.text[self.text_pos..];
                match overlap(rest, &text) {
                    Ok(None) => {
                        self.text_pos += text.len();
                        Step::Suppress
                    }
                    Ok(Some(tail)) => {
                        let tail = tail.to_string();
                        delivered.text.push_str(&tail);
                        self.text_pos = delivered.text.len();
                        if tail.is_empty() {
                            Step::Suppress
                        } else {
                            Step::Forward(StreamItem::Text(tail))
                        }
                    }
                    Err(()) => Step::Diverged(format!(
                        "the retried answer differs from the partial one after {} characters",
                        delivered.text[..self.text_pos].chars().count()
                    )),
                }
            }
            StreamItem::ToolCallDelta {
                index,
                id,
                name,
                arguments,
            } => self.filter_tool(delivered, index, id, name, arguments),
            StreamItem::Usage(usage) => {
                if delivered.usage {
                    Step::Suppress
                } else {
                    delivered.usage = true;
                    Step::Forward(StreamItem::Usage(usage))
                }
            }
            StreamItem::Finish(reason) => {
                if delivered.finish.is_some() {
                    Step::Suppress
                } else {
                    delivered.finish = Some(reason.clone());
                    Step::Forward(StreamItem::Finish(reason))
                }
            }
        }
    }

    fn filter_tool(
        &mut self,
        delivered: &mut Delivered,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    ) -> Step {
        let so_far = delivered.tools.entry(index).or_default();
        // A provider gives a new call id on every attempt: the consumer keeps the first one,
        // which the conversation then uses consistently. A different function is a divergence.
        let new_id = match (&so_far.id, id) {
            (None, Some(id)) => {
                so_far.id = Some(id.clone());
                Some(id)
            }
            _ => None,
        };
        let new_name = match (&so_far.name, name) {
            (Some(had), Some(got)) if *had != got => {
                return Step::Diverged(format!(
                    "the retried answer calls {got} where the partial one called {had}"
                ));
            }
            (None, Some(got)) => {
                so_far.name = Some(got.clone());
                Some(got)
            }
            _ => None,
        };
        let pos = self.tool_pos.entry(index).or_insert(0);
        let rest = &so_far.arguments[*pos..];
        let tail = match overlap(rest, &arguments) {
            Ok(None) => {
                *pos += arguments.len();
                String::new()
            }
            Ok(Some(tail)) => {
                let tail = tail.to_string();
                so_far.arguments.push_str(&tail);
                *pos = so_far.arguments.len();
                tail
            }
            Err(()) => {
                return Step::Diverged(format!(
                    "the retried answer's tool call #{index} has different arguments"
                ));
            }
        };
        if new_id.is_none() && new_name.is_none() && tail.is_empty() {
            Step::Suppress
        } else {
            Step::Forward(StreamItem::ToolCallDelta {
                index,
                id: new_id,
                name: new_name,
                arguments: tail,
            })
        }
    }

    /// At the end of the retried stream: it must have reproduced everything delivered.
    pub fn finish(&self, delivered: &Delivered) -> Result<(), String> {
        let text_short = self.text_pos < delivered.text.len();
        let tool_short = delivered
            .tools
            .iter()
            .any(|(i, t)| self.tool_pos.get(i).copied().unwrap_or(0) < t.arguments.len());
        if text_short || tool_short {
            Err("the retried answer ended before reproducing the partial one".into())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> StreamItem {
        StreamItem::Text(t.into())
    }

    fn tool(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> StreamItem {
        StreamItem::ToolCallDelta {
            index,
            id: id.map(Into::into),
            name: name.map(Into::into),
            arguments: args.into(),
        }
    }

    fn delivered(items: &[StreamItem]) -> Delivered {
        let mut d = Delivered::default();
        for i in items {
            d.record(i);
        }
        d
    }

    #[test]
    fn replay_with_other_chunk_boundaries_forwards_only_the_new_tail() {
        let mut d = delivered(&[text("Hel"), text("lo, w")]);
        let mut r = Replay::new();
        assert_eq!(r.filter(&mut d, text("He")), Step::Suppress);
        assert_eq!(r.filter(&mut d, text("llo")), Step::Suppress);
        assert_eq!(r.filter(&mut d, text(", wor")), Step::Forward(text("or")));
        assert_eq!(r.filter(&mut d, text("ld")), Step::Forward(text("ld")));
        assert_eq!(
            r.filter(&mut d, StreamItem::Finish("stop".into())),
            Step::Forward(StreamItem::Finish("stop".into()))
        );
        assert_eq!(r.finish(&d), Ok(()));
    }

    #[test]
    fn divergent_text_or_short_replay_is_reported() {
        let mut d = delivered(&[text("The answer is 4")]);
        let mut r = Replay::new();
        assert_eq!(r.filter(&mut d, text("The ")), Step::Suppress);
        assert!(matches!(
            r.filter(&mut d, text("result")),
            Step::Diverged(_)
        ));
        let mut r = Replay::new();
        assert_eq!(r.filter(&mut d, text("The answer")), Step::Suppress);
        assert!(r.finish(&d).is_err());
    }

    #[test]
    fn tool_calls_resume_keep_the_first_id_and_reject_other_functions() {
        let mut d = delivered(&[tool(0, Some("call_1"), Some("python"), "{\"co")]);
        let mut r = Replay::new();
        assert_eq!(
            r.filter(&mut d, tool(0, Some("call_2"), Some("python"), "{\"code\"")),
            Step::Forward(tool(0, None, None, "de\""))
        );
        assert_eq!(
            r.filter(&mut d, tool(1, Some("call_3"), Some("ls"), "{}")),
            Step::Forward(tool(1, Some("call_3"), Some("ls"), "{}"))
        );
        assert_eq!(r.finish(&d), Ok(()));

        let mut d = delivered(&[tool(0, Some("a"), Some("python"), "")]);
        assert!(matches!(
            Replay::new().filter(&mut d, tool(0, Some("b"), Some("shell"), "")),
            Step::Diverged(_)
        ));
    }

    #[test]
    fn usage_and_finish_are_not_repeated() {
        let usage = StreamItem::Usage(llm_repl_protocol::Usage::default());
        let mut d = delivered(&[text("x"), StreamItem::Finish("stop".into()), usage.clone()]);
        let mut r = Replay::new();
        assert_eq!(r.filter(&mut d, text("x")), Step::Suppress);
        assert_eq!(
            r.filter(&mut d, StreamItem::Finish("stop".into())),
            Step::Suppress
        );
        assert_eq!(r.filter(&mut d, usage), Step::Suppress);
        assert_eq!(d.chars(), 1);
    }
}
