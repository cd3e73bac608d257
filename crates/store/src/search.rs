//! Full-text search over every stored message (content, tool call names and arguments, tool
//! output as the model saw it).
//!
//! Semantics: every query term must occur (AND). In incremental mode the last term also matches
//! any indexed word it is a prefix of (as-you-type). Ranking: BM25 (k1 = 1.2, b = 0.75) summed
//! over the query terms (for a prefix term, the best of its expansions), times a recency factor
//! `1 + 0.25 * 0.5^(age_days / 30)`: a fresh message earns at most 25 % more than an old one, so
//! relevance dominates and recency breaks near-ties.
//!
//! Cost: one lookup per (word, index segment); the rarest word's postings are read newest first
//! (at most [`MAX_DRIVER_POSTINGS`]) as candidates, and the other words' posting lists are
//! decoded only in segments overlapping the candidates; no scan of the messages, ever. A query
//! with a rare word is ranked over every match; one of only very common words over its newest
//! [`MAX_DRIVER_POSTINGS`] candidates (a deliberate trade for bounded latency).

use std::collections::HashMap;

use llm_repl_protocol::SearchHit;

use crate::error::Result;
use crate::index::{self, SegMeta};
use crate::pages;
use crate::records::{self, MessageRecord};
use crate::{Store, keys, meta, text};

/// A term's postings read per query at most (newest first); older matches of very common terms
/// are not ranked.
pub const MAX_DRIVER_POSTINGS: usize = 100_000;
/// Expansions of a prefix term considered at most (the most frequent ones).
pub const MAX_PREFIX_EXPANSIONS: usize = 16;
/// Words looked at per segment when expanding a prefix.
const PREFIX_SCAN_PER_SEGMENT: usize = 512;
const K1: f32 = 1.2;
const B: f32 = 0.75;
const SNIPPET_BYTES: usize = 160;

/// One indexed word: its document frequency and its posting lists, newest segment first.
struct TermLists {
    term: String,
    df: u64,
    lists: Vec<(SegMeta, Vec<u8>)>,
}

/// One query word and the indexed words it stands for.
struct Group {
    terms: Vec<TermLists>,
    prefix: Option<String>,
}

impl Group {
    fn df(&self) -> u64 {
        self.terms.iter().map(|t| t.df).sum()
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
        let segs = index::segments(t)?;
        let mut groups = Vec::with_capacity(words.len());
        let last = words.len() - 1;
        for (i, w) in words.iter().enumerate() {
            let g = if i == last && prefix_last {
                self.expand(&segs, w)?
            } else {
                let mut tl = TermLists {
                    term: w.clone(),
                    df: 0,
                    lists: Vec::new(),
                };
                for (seg, m) in &segs {
                    if let Some(v) = pages::get(&t.seg, *seg, w)? {
                        tl.df += index::list_count(&v);
                        tl.lists.push((*m, v));
                    }
                }
                Group {
                    terms: if tl.df > 0 { vec![tl] } else { Vec::new() },
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
            now_secs: (crate::now_ms() / 1000) as f32,
        };
        // Candidates from the rarest group, newest first: docid -> (score, time).
        let mut cand: HashMap<u64, (f32, u32)> = HashMap::new();
        let mut budget = MAX_DRIVER_POSTINGS;
        'driver: for tl in &groups[0].terms {
            for (_, list) in &tl.lists {
                for p in index::decode_list(list).into_iter().rev() {
                    if budget == 0 {
                        break 'driver;
                    }
                    budget -= 1;
                    let s = stats.bm25(tl.df, p.tf, p.len);
                    let e = cand.entry(p.docid).or_insert((0.0, p.at));
                    e.0 = e.0.max(s);
                }
            }
        }
        let lo = cand.keys().min().copied().unwrap_or(0);
        let hi = cand.keys().max().copied().unwrap_or(0);
        // Every other word must occur: its best expansion's score is added.
        for g in &groups[1..] {
            let mut best: HashMap<u64, f32> = HashMap::new();
            for tl in &g.terms {
                for (m, list) in &tl.lists {
                    if m.max_docid < lo || m.min_docid > hi {
                        continue;
                    }
                    for p in index::decode_list(list) {
                        if cand.contains_key(&p.docid) {
                            let s = stats.bm25(tl.df, p.tf, p.len);
                            let e = best.entry(p.docid).or_insert(s);
                            *e = e.max(s);
                        }
                    }
                }
            }
            cand.retain(|docid, (score, _)| match best.get(docid) {
                Some(s) => {
                    *score += s;
                    true
                }
                None => false,
            });
        }
        let mut ranked: Vec<(u64, f32)> = cand
            .into_iter()
            .map(|(d, (s, at))| (d, s * stats.recency(at)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        let exact: Vec<&str> = groups
            .iter()
            .filter(|g| g.prefix.is_none())
            .flat_map(|g| g.terms.iter().map(|t| t.term.as_str()))
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
    fn expand(&self, segs: &[(u64, SegMeta)], prefix: &str) -> Result<Group> {
        let mut by_term: HashMap<String, TermLists> = HashMap::new();
        for (seg, m) in segs {
            for (term, v) in
                pages::with_prefix(&self.t().seg, *seg, prefix, PREFIX_SCAN_PER_SEGMENT)?
            {
                let tl = by_term.entry(term.clone()).or_insert_with(|| TermLists {
                    term,
                    df: 0,
                    lists: Vec::new(),
                });
                tl.df += index::list_count(&v);
                tl.lists.push((*m, v));
            }
        }
        let mut terms: Vec<TermLists> = by_term.into_values().collect();
        terms.sort_by_key(|t| std::cmp::Reverse(t.df));
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
