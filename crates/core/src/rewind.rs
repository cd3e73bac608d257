//! Retry, edit-and-resend and fork: the Ops that rewind or branch the conversation.
//!
//! A retry or an edit drops the last prompt and everything after it from the model's context
//! (`Event::Rewound`) and runs the prompt again (or the edited one) as a new turn. The store
//! keeps the dropped messages marked superseded, so a resume rebuilds exactly the context the
//! agent has after the rewind. A fork copies the history up to a point into a new stored session
//! that names its parent, and makes it current. Neither undoes what tools did to the world
//! (files written, interpreter variables): only the conversation is rewound.

use std::collections::HashSet;

use llm_repl_protocol::{Event, ForkParent, Message, NoticeLevel, Role};

use crate::agent::Agent;
use crate::ids;

impl Agent {
    /// Rewinds the history to before the last prompt for `Op::Retry` (`edited` None) or
    /// `Op::EditLast`, and returns the prompt the new turn runs. Says why and returns None when
    /// it cannot (a turn is running, nothing was asked yet, an empty edit).
    pub(crate) fn rewind_last_prompt(
        &mut self,
        edited: Option<String>,
        busy: bool,
    ) -> Option<String> {
        let what = if edited.is_some() { "edit" } else { "retry" };
        if busy {
            self.notice(
                NoticeLevel::Warn,
                format!("a turn is running: interrupt it first (Esc), then {what}"),
            );
            return None;
        }
        if edited.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.emit(Event::Error {
                message: "the edited prompt is empty: nothing was changed".into(),
            });
            return None;
        }
        // The store's last live prompt is the last one asked, also when its turn failed (a
        // failed prompt leaves the in-memory history but stays in the store).
        let stored = self.stored_tail();
        let last = stored
            .as_ref()
            .and_then(|tail| tail.first())
            .map(|m| m.content.clone())
            .or_else(|| {
                self.history
                    .iter()
                    .rev()
                    .find(|m| m.role == Role::User)
                    .map(|m| m.content.clone())
            });
        let Some(last) = last else {
            self.notice(
                NoticeLevel::Warn,
                format!("nothing to {what}: no prompt has been sent in this session yet"),
            );
            return None;
        };
        let cut = self.cut_point(stored.as_deref());
        let dropped = (self.history.len() - cut) as u64;
        self.history.truncate(cut);
        // The kept token counts of the cut messages go with them.
        self.prompt_tokens.truncate(cut);
        if let Some(store) = self.recorder.store().cloned() {
            let result = store.supersede_last_prompt(&self.info.id);
            if let Err(e) = result {
                self.emit(Event::Error {
                    message: format!(
                        "could not record the rewind ({e}); a resume may still show the old answer"
                    ),
                });
            }
        }
        self.emit(Event::Rewound { dropped });
        Some(edited.unwrap_or(last))
    }

    /// The stored session's live messages from its last prompt on, when the store has them.
    fn stored_tail(&self) -> Option<Vec<Message>> {
        let store = self.recorder.store()?;
        let messages = store.load_session(&self.info.id).ok()?.plain_messages();
        let from = messages.iter().rposition(|m| m.role == Role::User)?;
        Some(messages[from..].to_vec())
    }

    /// Where the in-memory history is cut: at the stored last turn when the history ends with
    /// it; not at all when that turn's prompt already left the history (its turn failed, so
    /// only the store has it); else (no store, or a history repaired after a crash) at the
    /// last prompt in memory.
    fn cut_point(&self, stored: Option<&[Message]>) -> usize {
        let last_user = self.history.iter().rposition(|m| m.role == Role::User);
        match stored {
            Some(tail) if self.history.ends_with(tail) => self.history.len() - tail.len(),
            // Only a prompt, no answer: a failed turn that the history already forgot.
            Some([_]) => self.history.len(),
            _ => last_user.unwrap_or(self.history.len()),
        }
    }

    /// `Op::Fork`: a new stored session with the history through the answer to prompt
    /// `through_prompt` (all of it when None), linked to the current one, becomes current.
    pub(crate) fn fork(&mut self, through_prompt: Option<u32>, busy: bool) {
        if busy {
            self.notice(
                NoticeLevel::Warn,
                "a turn is running: interrupt it first (Esc), then fork",
            );
            return;
        }
        let Some(store) = self.store_or_say() else {
            return;
        };
        let prompts: Vec<usize> = self
            .history
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role == Role::User)
            .map(|(i, _)| i)
            .collect();
        if prompts.is_empty() {
            self.notice(
                NoticeLevel::Warn,
                "nothing to fork: no prompt has been answered in this session yet",
            );
            return;
        }
        let keep = match through_prompt {
            None => self.history.len(),
            Some(n) if n == 0 || n as usize > prompts.len() => {
                self.emit(Event::Error {
                    message: format!(
                        "no prompt #{n}: this session has prompts 1 to {} (/fork N keeps the \
                         history through the answer to prompt N)",
                        prompts.len()
                    ),
                });
                return;
            }
            Some(n) => prompts
                .get(n as usize)
                .copied()
                .unwrap_or(self.history.len()),
        };
        let messages = self.history[..keep].to_vec();
        let calls: HashSet<&str> = messages
            .iter()
            .flat_map(|m| m.tool_calls.iter().map(|c| c.id.as_str()))
            .collect();
        let tool_runs: Vec<_> = store
            .load_session(&self.info.id)
            .map(|l| l.plain_tool_runs())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| calls.contains(r.call.id.as_str()))
            .collect();
        let parent = ForkParent {
            id: self.info.id.clone(),
            title: self.info.title.clone(),
        };
        let mut info = self.info.clone();
        info.id = ids::new_session_id();
        if let Err(e) = store.fork_session(&info, parent.clone(), &messages, &tool_runs) {
            self.emit(Event::Error {
                message: format!("cannot fork {}: {e}", parent.id),
            });
            return;
        }
        self.reset_session(Some(info.clone()));
        self.history = messages.clone();
        let at = through_prompt.map_or_else(
            || "its whole history".to_string(),
            |n| format!("prompt #{n}"),
        );
        let new_id = info.id.clone();
        self.emit(Event::SessionLoaded {
            info,
            messages,
            tool_runs,
        });
        self.notice(
            NoticeLevel::Info,
            format!(
                "forked “{}” at {at} into the new session {new_id}; the original is unchanged \
                 (Ctrl+O lists both)",
                parent.title
            ),
        );
    }
}
