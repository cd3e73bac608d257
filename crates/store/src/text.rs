//! Tokenising for the full-text index: words of letters, digits and `_`, lower-cased, with a
//! short English stop list, so the index stays small and a query means the same as the text.

use std::collections::HashMap;

use llm_repl_protocol::Message;

/// Tokens longer than this are not indexed (base64 blobs, hashes).
pub(crate) const MAX_TERM_BYTES: usize = 40;
/// Only this much of one message's text is indexed (a huge tool output must not bloat the index).
pub(crate) const MAX_INDEXED_BYTES: usize = 32 * 1024;

const STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

pub(crate) fn is_stop(term: &str) -> bool {
    STOP.contains(&term)
}

/// One word of a text: its byte range and its lower-cased form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub term: String,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every word of `s` (stop words and over-long words included; callers filter).
pub(crate) fn tokens(s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (is_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(b)) => {
                out.push(token(s, b, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push(token(s, b, s.len()));
    }
    out
}

fn token(s: &str, start: usize, end: usize) -> Token {
    Token {
        start,
        end,
        term: s.get(start..end).unwrap_or_default().to_lowercase(),
    }
}

/// True for a term the index keeps.
pub(crate) fn indexable(term: &str) -> bool {
    !term.is_empty() && term.len() <= MAX_TERM_BYTES && !is_stop(term)
}

/// The searchable text of a message: its content, then each tool call's name and arguments.
pub(crate) fn message_text(m: &Message) -> String {
    let mut s = m.content.clone();
    for c in &m.tool_calls {
        s.push('\n');
        s.push_str(&c.name);
        s.push('\n');
        s.push_str(&c.arguments);
    }
    s
}

/// Term frequencies and the indexed length (in words) of a document.
pub(crate) fn term_counts(text: &str) -> (HashMap<String, u32>, u32) {
    let mut cut = text.len().min(MAX_INDEXED_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut len = 0u32;
    for t in tokens(text.get(..cut).unwrap_or_default()) {
        if indexable(&t.term) {
            len += 1;
            *counts.entry(t.term).or_default() += 1;
        }
    }
    (counts, len)
}

/// The query's terms, in order, each stop word and over-long word dropped.
pub(crate) fn query_terms(q: &str) -> Vec<String> {
    tokens(q)
        .into_iter()
        .map(|t| t.term)
        .filter(|t| indexable(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_byte_ranges_and_lowercase() {
        let t = tokens("Héllo, wörld_2 x");
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].term, "héllo");
        assert_eq!(&"Héllo, wörld_2 x"[t[1].start..t[1].end], "wörld_2");
    }

    #[test]
    fn counts_skip_stop_words() {
        let (c, len) = term_counts("The cat and the other cat");
        assert_eq!(c.get("cat"), Some(&2));
        assert!(!c.contains_key("the"));
        assert_eq!(len, 3);
    }
}
