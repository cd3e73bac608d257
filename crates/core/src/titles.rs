//! Optional model-written session titles (`[store] model_titles = true`): one short, cheap call
//! after the first completed turn, off the turn's path. The prompt-based title stays when the
//! call fails; nothing here can fail a turn.

use std::sync::Arc;

use futures::StreamExt;
use llm_repl_protocol::{Event, Message, NoticeLevel};
use tokio::sync::mpsc;

use crate::persist::Recorder;
use crate::provider::{ChatRequest, Provider, StreamItem};

const INSTRUCTION: &str = "Write a title of at most six words for a conversation that starts \
with the user's message below. Reply with the title only: no quotes, no punctuation at the end.";

/// Asks the model for a title and stores it; tells the frontend with a Notice.
pub(crate) fn spawn(
    provider: Arc<dyn Provider>,
    model: String,
    prompt: String,
    session: String,
    recorder: Recorder,
    events: mpsc::UnboundedSender<Event>,
) {
    tokio::spawn(async move {
        let request = ChatRequest {
            model,
            messages: vec![Message::system(INSTRUCTION), Message::user(prompt)],
            tools: Vec::new(),
            max_tokens: Some(16),
            temperature: Some(0.0),
            prompt_tokens: None,
        };
        let Ok(mut stream) = provider.stream(request).await else {
            return;
        };
        let mut text = String::new();
        while let Some(Ok(item)) = stream.next().await {
            if let StreamItem::Text(t) = item {
                text.push_str(&t);
            }
        }
        let title = clean(&text);
        if title.is_empty() {
            return;
        }
        recorder.rename(&session, &title);
        let _ = events.send(Event::Notice {
            level: NoticeLevel::Info,
            text: format!("session titled: {title}"),
        });
    });
}

/// One line, no wrapping quotes or final punctuation, at most 60 characters.
fn clean(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let trimmed = line
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '*' | '#' | '`'))
        .trim_end_matches(['.', '!', ':'])
        .trim();
    trimmed.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn titles_are_cleaned() {
        assert_eq!(
            clean("\n\"Computing Big Powers.\"\nextra"),
            "Computing Big Powers"
        );
        assert_eq!(clean("**Rust lifetimes**"), "Rust lifetimes");
        assert_eq!(clean("   "), "");
    }
}
