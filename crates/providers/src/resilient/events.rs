//! What `Resilient` reports: every retry, failover and circuit change, as one-line notices.

use std::fmt;
use std::time::Duration;

/// Something the user should see in the trace.
#[derive(Debug, Clone, PartialEq)]
pub enum ReliabilityEvent {
    /// `provider` failed with `error`; attempt `retry` of `max_retries` follows after `delay`.
    Retry {
        provider: String,
        retry: u32,
        max_retries: u32,
        delay: Duration,
        error: String,
    },
    /// The call moves from one provider of the route to the next.
    Failover {
        from: String,
        to: String,
        error: String,
    },
    /// A provider's circuit opened: it is skipped for `cooldown`.
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

impl fmt::Display for ReliabilityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReliabilityEvent::Retry {
                provider,
                retry,
                max_retries,
                delay,
                error,
            } => write!(
                f,
                "{provider}: {error}; retry {retry}/{max_retries} in {:.1}s",
                delay.as_secs_f64()
            ),
            ReliabilityEvent::Failover { from, to, error } => {
                write!(f, "{from} failed ({error}); switching to {to}")
            }
            ReliabilityEvent::CircuitOpened { provider, cooldown } => write!(
                f,
                "{provider}: circuit opened after repeated failures; skipped for {}s",
                cooldown.as_secs()
            ),
            ReliabilityEvent::CircuitClosed { provider } => {
                write!(f, "{provider}: answering again; circuit closed")
            }
            ReliabilityEvent::Skipped { provider, retry_in } => write!(
                f,
                "{provider}: skipped, circuit open (next try in {}s)",
                retry_in.as_secs().max(1)
            ),
            ReliabilityEvent::Resuming {
                provider,
                delivered_chars,
            } => write!(
                f,
                "{provider}: resuming the answer ({delivered_chars} characters already shown)"
            ),
        }
    }
}
