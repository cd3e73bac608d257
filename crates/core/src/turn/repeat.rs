//! The loop guard against a model repeating itself: the same tool call with the same
//! arguments is allowed twice, refused (with an explanation the model sees) the third time, and
//! ends the turn the fourth.

use llm_repl_protocol::ToolCall;

use super::Turn;

/// The same call twice is allowed (a retry after a fix elsewhere can be legitimate); the third
/// identical call is refused with an explanation; the fourth ends the turn.
const REPEAT_WARN: u32 = 3;
pub(super) const REPEAT_STOP: u32 = 4;

pub(super) enum Repeat {
    Fresh,
    Warn,
    Stop,
}

impl Turn {
    pub(super) fn repeat_check(&mut self, call: &ToolCall) -> Repeat {
        // Normalise the arguments (key order, spacing) so trivial differences still count.
        let args = serde_json::from_str::<serde_json::Value>(&call.arguments)
            .map_or_else(|_| call.arguments.clone(), |v| v.to_string());
        let n = self
            .seen_calls
            .entry((call.name.clone(), args))
            .or_insert(0);
        *n += 1;
        match *n {
            n if n >= REPEAT_STOP => Repeat::Stop,
            n if n >= REPEAT_WARN => Repeat::Warn,
            _ => Repeat::Fresh,
        }
    }
}

/// The observation a refused repeated call gets (the call itself goes through the lifecycle
/// owner, [`crate::tools_run::handle_call`], like any other).
pub(super) fn refusal(call: &ToolCall) -> String {
    format!(
        "error: you already called {} with exactly these arguments {} times in this turn, and \
         the result will not change. Use the earlier result, change the arguments, or answer \
         the user.",
        call.name,
        REPEAT_WARN - 1
    )
}
