//! What `Resilient` reports: every retry, failover and circuit change, as one-line texts.
//!
//! [`ReliabilityEvent::detail`] is the text without the provider's name (for a frontend that
//! shows the name beside it); `Display` is `"{provider}: {detail}"`.

use std::fmt;
use std::time::Duration;

/// Something the user should see.
#[derive(Debug, Clone, PartialEq)]
pub enum ReliabilityEvent {
    /// `provider` failed with `error` (`reason` in words); retry `retry` of `max_retries`
    /// follows after `delay`.
    Retry {
        provider: String,
        retry: u32,
        max_retries: u32,
        delay: Duration,
        reason: String,
        error: String,
    },
    /// A call that retried ended: answered (`recovered`) or gave up after `retries`. Frontends
    /// drop the retry status line.
    RetriesOver {
        provider: String,
        recovered: bool,
        retries: u32,
    },
    /// The call moves from one provider of the route to the next.
    Failover {
        from: String,
        to: String,
        error: String,
    },
    /// A provider's circuit opened: while it is open, calls go to another provider of the route
    /// when there is one.
    CircuitOpened {
        provider: String,
        cooldown: Duration,
    },
    /// A provider answered again after its circuit had opened.
    CircuitClosed { provider: String },
    /// A provider was skipped because its circuit is open.
    Skipped {
        provider: String,
        retry_in: Duration,
    },
    /// A retried stream replays an answer of which `delivered_chars` were already shown.
    Resuming {
        provider: String,
        delivered_chars: usize,
    },
}

impl ReliabilityEvent {
    /// The provider the event is about (for a failover, the one failed over to).
    pub fn provider(&self) -> &str {
        match self {
            ReliabilityEvent::Retry { provider, .. }
            | ReliabilityEvent::RetriesOver { provider, .. }
            | ReliabilityEvent::CircuitOpened { provider, .. }
            | ReliabilityEvent::CircuitClosed { provider }
            | ReliabilityEvent::Skipped { provider, .. }
            | ReliabilityEvent::Resuming { provider, .. } => provider,
            ReliabilityEvent::Failover { to, .. } => to,
        }
    }

    /// The text without the provider's name in front.
    pub fn detail(&self) -> String {
        match self {
            ReliabilityEvent::Retry {
                retry,
                max_retries,
                delay,
                reason,
                ..
            } => format!(
                "{reason}; retrying in {:.1}s (attempt {} of {})",
                delay.as_secs_f64(),
                retry + 1,
                max_retries + 1
            ),
            ReliabilityEvent::RetriesOver {
                recovered: true,
                retries,
                ..
            } => format!("answered after {retries} {}", plural(*retries)),
            ReliabilityEvent::RetriesOver { retries, .. } => {
                format!("gave up after {retries} {}", plural(*retries))
            }
            ReliabilityEvent::Failover { from, to, error } => {
                format!("{from} failed ({error}); switching to {to}")
            }
            ReliabilityEvent::CircuitOpened { cooldown, .. } => format!(
                "circuit opened after repeated failures (cool-down {}s)",
                cooldown.as_secs()
            ),
            ReliabilityEvent::CircuitClosed { .. } => "answering again; circuit closed".into(),
            ReliabilityEvent::Skipped { retry_in, .. } => format!(
                "skipped, circuit open (next try in {}s)",
                retry_in.as_secs().max(1)
            ),
            ReliabilityEvent::Resuming {
                delivered_chars, ..
            } => format!("resuming the answer ({delivered_chars} characters already shown)"),
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "retry" } else { "retries" }
}

impl fmt::Display for ReliabilityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The failover text names both providers itself.
            ReliabilityEvent::Failover { .. } => write!(f, "{}", self.detail()),
            _ => write!(f, "{}: {}", self.provider(), self.detail()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_provider_once_and_count_attempts() {
        let retry = ReliabilityEvent::Retry {
            provider: "openai".into(),
            retry: 1,
            max_retries: 8,
            delay: Duration::from_millis(1200),
            reason: "server error (HTTP 500)".into(),
            error: "{\"error\": {}}".into(),
        };
        assert_eq!(
            retry.to_string(),
            "openai: server error (HTTP 500); retrying in 1.2s (attempt 2 of 9)"
        );
        let opened = ReliabilityEvent::CircuitOpened {
            provider: "openai".into(),
            cooldown: Duration::from_secs(30),
        };
        assert!(!opened.detail().contains("openai"));
        assert_eq!(opened.to_string().matches("openai").count(), 1);
        let over = ReliabilityEvent::RetriesOver {
            provider: "p".into(),
            recovered: true,
            retries: 1,
        };
        assert_eq!(over.to_string(), "p: answered after 1 retry");
        let failover = ReliabilityEvent::Failover {
            from: "a".into(),
            to: "b".into(),
            error: "x".into(),
        };
        assert_eq!(failover.to_string(), "a failed (x); switching to b");
    }
}
