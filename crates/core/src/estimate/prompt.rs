//! Counting a growing conversation incrementally: each message is counted once, when it is first
//! sent, and a request's size is the sum of the kept counts.
//!
//! The counts are kept by position in the history. Whoever cuts the history back (a rewind for
//! retry, edit or fork; compaction; a new or loaded session) calls [`PromptTokens::truncate`] or
//! [`PromptTokens::clear`], so the next count starts from the first changed message. As a
//! safety net each kept count carries a fingerprint of its message: a history that is shorter
//! than the counts, or whose first or last counted message no longer matches, is recounted (from
//! the cut, or from scratch), so a missed call costs time, not a wrong figure, in every case but
//! a change strictly between the first and the last counted message of the same length of
//! history, which only [`PromptTokens::truncate`] can report.

use std::hash::{Hash, Hasher};

use llm_repl_protocol::Message;

use super::{Encoding, Estimator, REPLY_PRIMING};
use crate::tool::ToolSpec;

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct PromptTokens {
    /// The encoding the kept counts were made with; another one recounts everything.
    encoding: Option<Encoding>,
    /// `running[i]`: tokens of history messages `0..=i`.
    running: Vec<u64>,
    /// `prints[i]`: fingerprint of history message `i` when it was counted.
    prints: Vec<u64>,
    /// The leading (system) messages and the tool definitions: fingerprint and tokens.
    fixed: Option<(u64, u64)>,
}

impl PromptTokens {
    pub fn new() -> Self {
        Self::default()
    }

    /// History messages whose counts are kept.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Forgets the counts of history messages from position `len` on: call it when the history
    /// is cut back to `len` messages (rewind, compaction).
    pub fn truncate(&mut self, len: usize) {
        self.running.truncate(len);
        self.prints.truncate(len);
    }

    /// Forgets every count (a new or loaded session, a replaced history).
    pub fn clear(&mut self) {
        self.truncate(0);
        self.fixed = None;
    }

    /// Prompt tokens of a request made of `system` messages, then `history`, with `tools`: the
    /// same figure as [`Estimator::prompt`] over all of them. Only history messages not counted
    /// before are counted (the cost of a step is the new messages, not the conversation).
    pub fn prompt(
        &mut self,
        estimator: Estimator,
        system: &[Message],
        history: &[Message],
        tools: &[ToolSpec],
    ) -> u64 {
        if self.encoding != Some(estimator.encoding()) {
            self.clear();
            self.encoding = Some(estimator.encoding());
        }
        self.check(history);
        for m in &history[self.len()..] {
            let before = self.running.last().copied().unwrap_or(0);
            self.running.push(before + estimator.message(m));
            self.prints.push(fingerprint(m));
        }
        let fixed_print = fixed_fingerprint(system, tools);
        let fixed = match self.fixed {
            Some((print, tokens)) if print == fixed_print => tokens,
            _ => {
                let tokens = system.iter().map(|m| estimator.message(m)).sum::<u64>()
                    + estimator.tools(tools);
                self.fixed = Some((fixed_print, tokens));
                tokens
            }
        };
        REPLY_PRIMING + fixed + self.running.last().copied().unwrap_or(0)
    }

    /// The safety net of the module doc: drops counts the history no longer matches.
    fn check(&mut self, history: &[Message]) {
        if history.len() < self.len() {
            self.truncate(history.len());
        }
        let Some(last) = self.len().checked_sub(1) else {
            return;
        };
        if self.prints[last] != fingerprint(&history[last]) {
            // Find the cut: the last position both still agree on (a rewind replaced the
            // rest). Scanning back is only paid when something changed behind our back.
            let keep = (0..last)
                .rev()
                .find(|&i| self.prints[i] == fingerprint(&history[i]))
                .map_or(0, |i| i + 1);
            self.truncate(keep);
        } else if self.prints[0] != fingerprint(&history[0]) {
            self.truncate(0);
        }
    }
}

/// A fingerprint of everything about a message that is counted.
fn fingerprint(m: &Message) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    m.role.hash(&mut h);
    m.content.hash(&mut h);
    for c in &m.tool_calls {
        (&c.id, &c.name, &c.arguments).hash(&mut h);
    }
    m.tool_call_id.hash(&mut h);
    h.finish()
}

fn fixed_fingerprint(system: &[Message], tools: &[ToolSpec]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for m in system {
        fingerprint(m).hash(&mut h);
    }
    for t in tools {
        (&t.name, &t.description).hash(&mut h);
        t.parameters.to_string().hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use llm_repl_protocol::{ToolCall, ToolResult};

    use super::*;

    fn conversation(n: usize) -> Vec<Message> {
        (0..n)
            .map(|i| match i % 3 {
                0 => Message::user(format!("question {i}: what is {i} squared?")),
                1 => Message::assistant(
                    format!("let me compute {i}"),
                    vec![ToolCall {
                        id: format!("c{i}"),
                        name: "python".into(),
                        arguments: format!(r#"{{"code":"print({i}**2)"}}"#),
                    }],
                ),
                _ => Message::tool(&ToolResult {
                    call_id: format!("c{}", i - 1),
                    content: format!("{}", i * i),
                    is_error: false,
                }),
            })
            .collect()
    }

    fn spec() -> ToolSpec {
        ToolSpec {
            name: "python".into(),
            description: "Run Python".into(),
            parameters: serde_json::json!({"type": "object"}),
        }
    }

    #[test]
    fn incremental_counts_equal_a_full_count_at_every_step() {
        let est = Estimator::for_model("gpt-4o");
        let system = [Message::system("You are helpful.")];
        let tools = [spec()];
        let history = conversation(30);
        let mut counts = PromptTokens::new();
        for n in 0..=history.len() {
            let all: Vec<Message> = system.iter().chain(&history[..n]).cloned().collect();
            assert_eq!(
                counts.prompt(est, &system, &history[..n], &tools),
                est.prompt(&all, &tools),
                "after {n} messages"
            );
            assert_eq!(counts.len(), n);
        }
    }

    #[test]
    fn truncating_forgets_the_cut_messages_and_recounts_their_replacements() {
        let est = Estimator::for_model("gpt-4o");
        let system = [Message::system("sys")];
        let mut history = conversation(12);
        let mut counts = PromptTokens::new();
        counts.prompt(est, &system, &history, &[]);
        assert_eq!(counts.len(), 12);
        // A rewind to 5 messages, reported, then a longer replacement of the rest (same last
        // message as before, so only the report can tell the middle changed).
        history.truncate(5);
        counts.truncate(5);
        assert_eq!(counts.len(), 5);
        history.push(Message::user(
            "an edited prompt, much longer than the one it replaces",
        ));
        history.extend(conversation(12)[6..].iter().cloned());
        let all: Vec<Message> = system.iter().chain(&history).cloned().collect();
        assert_eq!(
            counts.prompt(est, &system, &history, &[]),
            est.prompt(&all, &[])
        );
        counts.clear();
        assert!(counts.is_empty());
        assert_eq!(
            counts.prompt(est, &system, &history, &[]),
            est.prompt(&all, &[])
        );
    }

    #[test]
    fn an_unreported_cut_or_replacement_is_caught_by_the_safety_net() {
        let est = Estimator::for_model("gpt-4o");
        let system = [Message::system("sys")];
        let mut counts = PromptTokens::new();
        let history = conversation(9);
        counts.prompt(est, &system, &history, &[]);
        // Shorter history: the counts past its end go.
        let shorter = &history[..4];
        let all: Vec<Message> = system.iter().chain(shorter).cloned().collect();
        assert_eq!(
            counts.prompt(est, &system, shorter, &[]),
            est.prompt(&all, &[])
        );
        assert_eq!(counts.len(), 4);
        // Same length, last message replaced (a retry that was not reported).
        let mut replaced = history.clone();
        replaced[8] = Message::user("something else entirely, with more words in it");
        let all: Vec<Message> = system.iter().chain(&replaced).cloned().collect();
        counts.prompt(est, &system, &history, &[]);
        assert_eq!(
            counts.prompt(est, &system, &replaced, &[]),
            est.prompt(&all, &[])
        );
        // Another session's history of the same length: everything recounted.
        let other: Vec<Message> = (0..9).map(|i| Message::user("x ".repeat(i + 1))).collect();
        let all: Vec<Message> = system.iter().chain(&other).cloned().collect();
        assert_eq!(
            counts.prompt(est, &system, &other, &[]),
            est.prompt(&all, &[])
        );
    }

    #[test]
    fn a_new_system_prompt_tool_list_or_encoding_is_recounted() {
        let history = conversation(6);
        let mut counts = PromptTokens::new();
        let o200k = Estimator::for_model("gpt-4o");
        let cl100k = Estimator::for_model("llama-3.3-70b");
        let a = [Message::system("short")];
        let b = [Message::system(
            "a much longer system prompt than the first one",
        )];
        let first = counts.prompt(o200k, &a, &history, &[]);
        let longer = counts.prompt(o200k, &b, &history, &[]);
        assert!(longer > first);
        let with_tool = counts.prompt(o200k, &b, &history, &[spec()]);
        assert_eq!(with_tool, longer + o200k.tools(&[spec()]));
        let all: Vec<Message> = b.iter().chain(&history).cloned().collect();
        assert_eq!(
            counts.prompt(cl100k, &b, &history, &[spec()]),
            cl100k.prompt(&all, &[spec()])
        );
    }
}
