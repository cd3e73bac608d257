//! Retry, edit-and-resend and fork on the TUI's side: the commands and keys that send
//! `Op::Retry`, `Op::EditLast` and `Op::Fork`, the /edit state of the prompt box, the prompt
//! numbers `/fork N` and copy mode use, and how `Event::Rewound` trims the screen.
//!
//! Prompt numbers are the agent's: the N-th prompt still in the model's context. A prompt whose
//! turn failed before any answer left the context (the agent drops it), so it is not counted;
//! prompts /clear took off the screen still are.

use std::collections::HashSet;

use llm_repl_protocol::{NoticeLevel, Op, RequestId};

use crate::app::{App, Focus};
use crate::keys::{Action, Context};
use crate::panes::conversation::ItemKind;

/// The TUI's part of a rewind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RewindState {
    /// The prompt box holds the last prompt (/edit): Enter sends `Op::EditLast`.
    pub editing: bool,
    /// Prompts in the context that /clear took off the screen (they keep their numbers).
    pub cleared_prompts: u32,
    /// The request of the last fork sent: the session it loads is a fork, not a resume.
    pub fork_request: Option<RequestId>,
}

impl App {
    /// `/retry`: the agent refuses (and says why) while a turn runs or before any prompt.
    pub(crate) fn retry(&mut self) {
        self.cancel_edit();
        self.conv.scroll.end();
        self.send(Op::Retry);
    }

    /// `/edit`: the last prompt goes into the box; Enter then rewinds to before it and sends
    /// the edited text, Esc leaves the box empty and changes nothing.
    pub(crate) fn edit_last(&mut self) {
        if self.meter.busy() {
            let esc = self.keymap.key(Context::Global, Action::Interrupt);
            self.notice(
                NoticeLevel::Warn,
                format!("a turn is running: interrupt it first ({esc}), then edit"),
            );
            return;
        }
        let last = self
            .conv
            .items
            .iter()
            .rev()
            .find(|i| i.kind == ItemKind::User)
            .map(|i| i.text.clone())
            .or_else(|| {
                // Prompts /clear took off the screen: the box's own history (without the
                // /commands it also keeps).
                self.input
                    .history
                    .iter()
                    .rev()
                    .find(|h| !h.starts_with('/') || h.starts_with("//"))
                    .cloned()
            });
        let Some(last) = last else {
            self.notice(
                NoticeLevel::Warn,
                "nothing to edit: no prompt has been sent in this session yet",
            );
            return;
        };
        self.input.set_text(&last);
        self.rewind.editing = true;
        self.focus = Focus::Input;
        let esc = self.keymap.key(Context::Global, Action::Interrupt);
        self.flash(format!(
            "editing the last prompt: Enter sends it in place of the old one, {esc} cancels"
        ));
    }

    /// Esc during /edit: the box empties and nothing is sent. True when an edit was cancelled.
    pub(crate) fn cancel_edit(&mut self) -> bool {
        if !std::mem::take(&mut self.rewind.editing) {
            return false;
        }
        self.input.take();
        self.flash("edit cancelled: nothing was changed");
        true
    }

    /// `/fork [N]`, the pane's fork key, copy mode's fork key.
    pub(crate) fn fork(&mut self, through_prompt: Option<u32>) {
        self.cancel_edit();
        self.send(Op::Fork { through_prompt });
        self.rewind.fork_request = Some(self.last_request());
    }

    /// True while applying the agent's answer to the last fork sent.
    pub(crate) fn answers_fork(&self) -> bool {
        self.answer_request.is_some() && self.answer_request == self.rewind.fork_request
    }

    /// The prompt number of each item (None for items that are not a prompt in the context).
    pub(crate) fn prompt_numbers(&self) -> Vec<Option<u32>> {
        let mut n = self.rewind.cleared_prompts;
        self.conv
            .items
            .iter()
            .map(|i| {
                (i.kind == ItemKind::User && !i.out_of_context).then(|| {
                    n += 1;
                    n
                })
            })
            .collect()
    }

    /// Prompts in the context shown on screen now (what /clear takes off).
    pub(crate) fn prompts_on_screen(&self) -> u32 {
        let n = self.prompt_numbers().into_iter().flatten().count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A turn failed (or was refused by a budget) before any answer: the agent dropped its
    /// prompt from the context, so it loses its number.
    pub(crate) fn mark_unanswered_prompt(&mut self) {
        let Some(at) = self
            .conv
            .items
            .iter()
            .rposition(|i| i.kind == ItemKind::User)
        else {
            return;
        };
        let answered = self.conv.items[at + 1..]
            .iter()
            .any(|i| matches!(i.kind, ItemKind::Assistant { .. } | ItemKind::Tool { .. }));
        if !answered {
            self.conv.items[at].out_of_context = true;
        }
    }

    /// `Event::Rewound`: the last prompt and everything after it leave the screen (the turn
    /// that follows shows the prompt again), with the trace entries of the dropped tool calls.
    pub(crate) fn rewound(&mut self, dropped: u64) {
        self.rewind.editing = false;
        if let Some(at) = self
            .conv
            .items
            .iter()
            .rposition(|i| i.kind == ItemKind::User)
        {
            let calls: HashSet<String> = self.conv.items[at..]
                .iter()
                .filter_map(|i| match &i.kind {
                    ItemKind::Tool { call_id } => Some(call_id.clone()),
                    _ => None,
                })
                .collect();
            self.conv.items.truncate(at);
            self.trace.remove(&calls);
        }
        self.notice(
            NoticeLevel::Info,
            format!(
                "rewound: {dropped} message{} left the model's context (the store keeps them, \
                 marked superseded)",
                if dropped == 1 { "" } else { "s" }
            ),
        );
        self.conv.scroll.end();
    }
}
