//! Text preparation shared by the panes: markdown, wrapping, highlighting, and the scroll model.

pub mod highlight;
pub mod hyperlink;
pub mod markdown;
pub mod scroll;
pub mod table;
pub mod wrap;

/// Formats a duration in milliseconds the way every pane shows it.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

/// Formats a token count compactly: 950, 12.3k, 4.1M.
pub fn tokens(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        format!("{:.1}M", n as f64 / 1_000_000.0)
    }
}

/// Formats dollars; unknown is "?" and never $0.
pub fn cost(usd: Option<f64>) -> String {
    match usd {
        None => "?".to_string(),
        Some(0.0) => "$0".to_string(),
        Some(v) if v < 0.01 => format!("${v:.4}"),
        Some(v) if v < 10.0 => format!("${v:.3}"),
        Some(v) => format!("${v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::duration(340), "340ms");
        assert_eq!(super::duration(1234), "1.2s");
        assert_eq!(super::duration(61_000), "1m01s");
        assert_eq!(super::tokens(12_345), "12.3k");
        assert_eq!(super::cost(None), "?");
        assert_eq!(super::cost(Some(0.00123)), "$0.0012");
    }
}
