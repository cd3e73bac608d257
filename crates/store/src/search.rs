//! Full-text search over every stored message (content, tool call names and arguments, tool
//! output as the model saw it).
//!
//! Semantics: every query term must occur (AND). In incremental mode the last term also matches
//! any indexed word it is a prefix of (as-you-type). Ranking: BM25 (k1 = 1.2, b = 0.75) summed
//! over the query terms (for a prefix term, the best of its expansions), times a recency factor
//! `1 + 0.25 * 0.5^(age_days / 30)`: a fresh message earns at most 25 % more than an old one, so
//! relevance dominates and recency breaks near-ties.
//!
//! Cost: the rarest term's postings are read newest first (at most [`MAX_DRIVER_POSTINGS`]), and
//! every other term is checked by point lookups of its posting for each candidate, newest first,
//! until [`MAX_MATCHES`] documents matched; no scan of the messages, ever. So a query whose words
//! are all rare is ranked over every match, and one of very common words over its newest
//! matches (a deliberate trade: the newest thousands of hits are what a history search is for).

use std::collections::HashMap;

use llm_repl_protocol::SearchHit;

use crate::error::Result;
use crate::index::parse_posting;
use crate::records::{self, MessageRecord};
use crate::{Store, keys, meta, text, time};

/// A term's postings read per query at most (newest first); older matches of very common terms
/// are not ranked.
pub const MAX_DRIVER_POSTINGS: usize = 50_000;
/// Expansions of a prefix term considered at most (the most frequent ones).
pub const MAX_PREFIX_EXPANSIONS: usize = 16;
/// Matching documents ranked at most: candidates are checked newest first until this many match.
pub const MAX_MATCHES: usize = 2_000;
const K1: f32 = 1.2;
const B: f32 = 0.75;
const SNIPPET_BYTES: usize = 160;

/// One query term and the indexed words it stands for, with their document frequencies.
struct Group {
    terms: Vec<(String, u64)>,
    prefix: Option<String>,
}

impl Group {
    fn df(&self) -> u64 {
        self.terms.iter().map(|(_, df)| df).sum()
    }
}

struct Stats {
    n: f32,
    avg_len: f32,
    now_secs: f32,
}

impl Stats {
    fn bm25(&self, df: u64, tf: u32, len: u32) -> f32 {
        let df = df as f32;
        let idf = (1.0 + (self.n - df + 0.5) / (df + 0.5)).ln();
        let tf = tf as f32;
        idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len as f32 / self.avg_len))
    }

    fn recency(&self, at_secs: u32) -> f32 {
        let age_days = ((self.now_secs - at_secs as f32) / 86_400.0).max(0.0);
        1.0 + 0.25 * 0.5f32.powf(age_days / 30.0)
    }
}

impl Store {
    /// Searches for messages containing every word of `query` (whole words), best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        self.search_with(query, limit, false)
    }

    /// As [`Store::search`], but the last word also matches words it begins (type-ahead),
    /// unless the query ends with a space.
    pub fn search_incremental(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let prefix_last = !query.ends_with(char::is_whitespace);
        self.search_with(query, limit, prefix_last)
    }

    fn search_with(&self, query: &str, limit: usize, prefix_last: bool) -> Result<Vec<SearchHit>> {
        let mut words = text::query_terms(query);
        words.dedup();
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let t = self.t();
        let mut groups = Vec::with_capacity(words.len());
        let last = words.len() - 1;
        for (i, w) in words.iter().enumerate() {
            let g = if i == last && prefix_last {
                self.expand(w)?
            } else {
                let df = keys::be_u64(t.terms.get(w.as_bytes())?.as_deref());
                Group {
                    terms: if df > 0 {
                        vec![(w.clone(), df)]
                    } else {
                        Vec::new()
                    },
                    prefix: None,
                }
            };
            if g.terms.is_empty() {
                return Ok(Vec::new());
            }
            groups.push(g);
        }
        groups.sort_by_key(Group::df);
        let n = keys::be_u64(t.meta.get(meta::DOCS)?.as_deref()).max(1) as f32;
        let total_len = keys::be_u64(t.meta.get(meta::DOC_LEN)?.as_deref()) as f32;
        let stats = Stats {
            n,
            avg_len: (total_len / n).max(1.0),
            now_secs: (time::now_ms() / 1000) as f32,
        };
        // Candidates from the rarest group: docid -> (score, time).
        let mut cand: HashMap<u64, (f32, u32)> = HashMap::new();
        let mut budget = MAX_DRIVER_POSTINGS;
        for (term, df) in &groups[0].terms {
            let mut p = term.as_bytes().to_vec();
            p.push(0);
            for kv in t.postings.scan_prefix(&p).rev().take(budget) {
                let (k, v) = kv?;
                budget -= 1;
                let (tf, len, at) = parse_posting(&v);
                let s = stats.bm25(*df, tf, len);
                let e = cand
                    .entry(keys::tail_u64(&k).unwrap_or(0))
                    .or_insert((0.0, at));
                e.0 = e.0.max(s);
            }
        }
        // Check the other words, newest candidates first, until enough documents match.
        let mut order: Vec<u64> = cand.keys().copied().collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut ranked: Vec<(u64, f32)> = Vec::new();
        'docs: for docid in order {
            if ranked.len() >= MAX_MATCHES {
                break;
            }
            let Some(&(mut score, at)) = cand.get(&docid) else {
                continue;
            };
            for g in &groups[1..] {
                let mut best: Option<f32> = None;
                for (term, df) in &g.terms {
                    if let Some(v) = t.postings.get(keys::posting(term, docid))? {
                        let (tf, len, _) = parse_posting(&v);
                        let s = stats.bm25(*df, tf, len);
                        best = Some(best.map_or(s, |b: f32| b.max(s)));
                    }
                }
                match best {
                    Some(s) => score += s,
                    None => continue 'docs,
                }
            }
            ranked.push((docid, score * stats.recency(at)));
        }
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        let exact: Vec<&str> = groups
            .iter()
            .filter(|g| g.prefix.is_none())
            .flat_map(|g| g.terms.iter().map(|(t, _)| t.as_str()))
            .collect();
        let prefixes: Vec<&str> = groups.iter().filter_map(|g| g.prefix.as_deref()).collect();
        let mut titles: HashMap<String, Option<String>> = HashMap::new();
        let mut hits = Vec::with_capacity(limit);
        for (docid, score) in ranked {
            if hits.len() >= limit {
                break;
            }
            let Some(loc) = t.docs.get(docid.to_be_bytes())? else {
                continue;
            };
            let Some((session, _)) = keys::split_sess(&loc) else {
                continue;
            };
            let title = match titles.get(&session) {
                Some(x) => x.clone(),
                None => {
                    let x = self.get_session(&session)?.map(|r| r.title);
                    titles.insert(session.clone(), x.clone());
                    x
                }
            };
            // A session being deleted has no record any more: skip its leftovers.
            let Some(session_title) = title else { continue };
            let Some(mv) = t.messages.get(&loc)? else {
                continue;
            };
            let mr: MessageRecord = records::decode("messages", &mv)?;
            let body = text::message_text(&mr.message);
            let (snippet, highlights) = snippet(&body, &exact, &prefixes);
            hits.push(SearchHit {
                session_id: session,
                session_title,
                seq: mr.seq,
                role: mr.message.role,
                snippet,
                highlights,
                score,
            });
        }
        Ok(hits)
    }

    /// The most frequent indexed words beginning with `prefix`.
    fn expand(&self, prefix: &str) -> Result<Group> {
        let mut terms = Vec::new();
        for kv in self.t().terms.scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv?;
            if let Ok(term) = std::str::from_utf8(&k) {
                terms.push((term.to_string(), keys::be_u64(Some(&v))));
            }
        }
        terms.sort_by_key(|t| std::cmp::Reverse(t.1));
        terms.truncate(MAX_PREFIX_EXPANSIONS);
        Ok(Group {
            terms,
            prefix: Some(prefix.to_string()),
        })
    }
}

/// A window of `body` around the first match, on one line, with the byte ranges of every match
/// inside it.
pub(crate) fn snippet(
    body: &str,
    exact: &[&str],
    prefixes: &[&str],
) -> (String, Vec<(usize, usize)>) {
    let matches: Vec<(usize, usize)> = text::tokens(body)
        .into_iter()
        .filter(|tk| {
            exact.contains(&tk.term.as_str()) || prefixes.iter().any(|p| tk.term.starts_with(p))
        })
        .map(|tk| (tk.start, tk.end))
        .collect();
    let first = matches.first().map_or(0, |m| m.0);
    let mut start = first.saturating_sub(SNIPPET_BYTES / 3);
    while !body.is_char_boundary(start) {
        start -= 1;
    }
    // Begin at a word boundary when one is near.
    if start > 0
        && let Some(sp) = body
            .get(start..first)
            .and_then(|s| s.find(char::is_whitespace))
    {
        start += sp + 1;
    }
    let mut end = (start + SNIPPET_BYTES).min(body.len());
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < body.len() { "…" } else { "" };
    let core: String = body
        .get(start..end)
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_control() && c.len_utf8() == 1 {
                ' '
            } else {
                c
            }
        })
        .collect();
    let shift = lead.len();
    let highlights = matches
        .into_iter()
        .filter(|(a, b)| *a >= start && *b <= end)
        .map(|(a, b)| (a - start + shift, b - start + shift))
        .collect();
    (format!("{lead}{core}{tail}"), highlights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_highlights_point_at_the_words() {
        let body = format!("{}\nthe Needle is here, needles too", "x ".repeat(100));
        let (s, h) = snippet(&body, &["needle"], &["needl"]);
        assert!(s.starts_with('…'));
        assert_eq!(h.len(), 2);
        assert_eq!(&s[h[0].0..h[0].1], "Needle");
        assert_eq!(&s[h[1].0..h[1].1], "needles");
        assert!(!s.contains('\n'));
    }
}
