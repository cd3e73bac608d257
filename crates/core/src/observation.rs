//! What the model sees of one tool result: at most `tools.model_output_tokens` tokens.
//!
//! A tool may print up to `tools.max_output_bytes` (1 MiB by default); all of it is shown on the
//! screen and kept in the store, but sending it to the model would fill (or overflow) the context
//! window in one call. A longer result reaches the model as its head and its tail (errors and
//! the exit line are usually at the end) with a marker in between saying how many lines and
//! bytes were cut. Tokens are counted with the one estimator ([`crate::estimate`]); only pieces
//! about the size of the cap are ever tokenized, so a 1 MiB result costs no more than a small
//! one.

use std::borrow::Cow;

use crate::estimate::Estimator;

/// Tokens kept free for the marker and for counting differences where head, marker and tail
/// join.
const MARKER_RESERVE: u64 = 80;

/// Text longer than this many bytes per token of the cap is over it without counting (no
/// tokenizer averages 32 bytes a token on real output).
const MAX_BYTES_PER_TOKEN: u64 = 32;

/// `text` as the model should see it: unchanged when it fits in `max_tokens` (0: no cap), else
/// head + marker + tail, the whole under `max_tokens` as counted for `model`.
pub fn cap_for_model<'a>(model: &str, text: &'a str, max_tokens: u64) -> Cow<'a, str> {
    let bytes = text.len() as u64;
    // A token is at least one byte, so a text of fewer bytes than the cap fits.
    if max_tokens == 0 || bytes <= max_tokens {
        return Cow::Borrowed(text);
    }
    if bytes <= max_tokens.saturating_mul(MAX_BYTES_PER_TOKEN)
        && Estimator::for_model(model).count(text) <= max_tokens
    {
        return Cow::Borrowed(text);
    }
    let room = max_tokens.saturating_sub(MARKER_RESERVE).max(2);
    let head_end = fit(model, text, room / 2, End::Head);
    let tail_start = text.len() - fit(model, &text[head_end..], room - room / 2, End::Tail);
    let cut = &text[head_end..tail_start];
    let lines = cut.matches('\n').count();
    let what = match lines {
        0 => format!("{} bytes", cut.len()),
        1 => format!("1 line break, {} bytes", cut.len()),
        n => format!("{n} lines, {} bytes", cut.len()),
    };
    let mut out = String::with_capacity(tail_start - head_end + 200);
    out.push_str(&text[..head_end]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "[... output cut: {what} omitted from the middle to stay within {max_tokens} tokens \
         (tools.model_output_tokens); the user sees all of it. Print less, or a slice, to see \
         the rest ...]\n"
    ));
    out.push_str(&text[tail_start..]);
    Cow::Owned(out)
}

#[derive(Clone, Copy, PartialEq)]
enum End {
    Head,
    Tail,
}

/// The most bytes at `end` of `text` that fit in `budget` tokens, preferring a cut at a line
/// break when that keeps at least half of them. A few proportional guesses, each tokenizing a
/// piece about the size of the budget.
fn fit(model: &str, text: &str, budget: u64, end: End) -> usize {
    let piece = |n: usize| match end {
        End::Head => &text[..n],
        End::Tail => &text[text.len() - n..],
    };
    let boundary = |n: usize| {
        let mut n = n.min(text.len());
        match end {
            End::Head => {
                while !text.is_char_boundary(n) {
                    n -= 1;
                }
            }
            End::Tail => {
                while !text.is_char_boundary(text.len() - n) {
                    n -= 1;
                }
            }
        }
        n
    };
    let mut n = boundary(usize::try_from(budget.saturating_mul(4)).unwrap_or(usize::MAX));
    let mut best = 0;
    for _ in 0..8 {
        if n == 0 {
            break;
        }
        let tokens = Estimator::for_model(model).count(piece(n)).max(1);
        let scaled = |num: u64| {
            let v = (n as u128) * u128::from(num) / u128::from(tokens);
            usize::try_from(v).unwrap_or(usize::MAX)
        };
        if tokens <= budget {
            best = best.max(n);
            // Close enough, or nothing more to take.
            if tokens * 10 >= budget * 9 || n == text.len() {
                break;
            }
            let next = boundary(scaled(budget * 95 / 100));
            if next <= n {
                break;
            }
            n = next;
        } else {
            let next = boundary(scaled(budget * 9 / 10));
            n = if next >= n { n - 1 } else { next };
            n = boundary(n);
        }
    }
    let kept = piece(best);
    let at_line = match end {
        End::Head => kept.rfind('\n').map(|i| i + 1),
        End::Tail => kept.find('\n').map(|i| best - i - 1),
    };
    match at_line {
        Some(m) if m * 2 >= best => m,
        _ => best,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(lines: usize) -> String {
        (0..lines).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn small_results_are_untouched() {
        let text = "hello\nworld\n";
        assert!(matches!(
            cap_for_model("gpt-4o", text, 100),
            Cow::Borrowed(_)
        ));
        let text = numbered(50);
        assert_eq!(cap_for_model("gpt-4o", &text, 4000), text.as_str());
        assert_eq!(
            cap_for_model("gpt-4o", &text, 0),
            text.as_str(),
            "0: no cap"
        );
    }

    #[test]
    fn long_results_keep_head_marker_and_tail_under_the_cap() {
        let text = numbered(200_000);
        for model in ["gpt-4o", "llama-3.3-70b-versatile"] {
            let capped = cap_for_model(model, &text, 2000);
            let tokens = Estimator::for_model(model).count(&capped);
            assert!(tokens <= 2000, "{model}: {tokens} tokens");
            assert!(tokens >= 1500, "{model}: the budget is used: {tokens}");
            assert!(capped.starts_with("line 0\nline 1\n"), "{model}");
            assert!(capped.ends_with("line 199999\n"), "{model}");
            let marker = capped
                .lines()
                .find(|l| l.starts_with("[... output cut:"))
                .unwrap_or_else(|| panic!("{model}: no marker"));
            // Whole lines only: every kept line is complete.
            for line in capped.lines().filter(|l| !l.starts_with('[')) {
                assert!(line.starts_with("line "), "{model}: {line:?}");
            }
            let kept = capped.lines().count() - 1;
            let cut_lines = 200_000 - kept;
            assert!(
                marker.contains(&format!("{cut_lines} lines")),
                "{model}: {marker}"
            );
            assert!(marker.contains("tools.model_output_tokens"), "{marker}");
        }
    }

    #[test]
    fn one_huge_line_and_multibyte_text_are_cut_on_char_boundaries() {
        let text = "東京🙂".repeat(50_000);
        let capped = cap_for_model("gpt-4o", &text, 500);
        assert!(Estimator::for_model("gpt-4o").count(&capped) <= 500);
        assert!(capped.starts_with("東京"));
        assert!(capped.ends_with("🙂"));
        assert!(
            capped.contains(" bytes omitted from the middle"),
            "{capped}"
        );
    }
}
