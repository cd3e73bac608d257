//! A circuit breaker per provider: after `failure_threshold` consecutive failures the provider is
//! skipped for `cooldown`, then calls are let through again as probes (half-open): a success
//! closes the circuit, a failure opens it again. Time is tokio's, so tests run with paused time.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// When a circuit opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitSettings {
    /// Consecutive failures that open the circuit (0 disables the breaker).
    pub failure_threshold: u32,
    pub cooldown: Duration,
}

impl Default for CircuitSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

/// A provider's circuit as the meter and `doctor` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through; `consecutive_failures` so far.
    Closed { consecutive_failures: u32 },
    /// Calls are skipped for `retry_in` more.
    Open { retry_in: Duration },
    /// The cool-down is over: the next call is a probe.
    HalfOpen,
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CircuitState::Closed {
                consecutive_failures: 0,
            } => write!(f, "ok"),
            CircuitState::Closed {
                consecutive_failures,
            } => write!(f, "ok ({consecutive_failures} recent failures)"),
            CircuitState::Open { retry_in } => {
                write!(f, "open (retry in {}s)", retry_in.as_secs().max(1))
            }
            CircuitState::HalfOpen => write!(f, "half-open (probing)"),
        }
    }
}

/// What a recorded outcome changed, for the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Opened,
    Closed,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed(u32),
    Open(Instant),
    HalfOpen,
}

/// One provider's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: CircuitSettings,
    inner: Inner,
}

impl Breaker {
    pub fn new(settings: CircuitSettings) -> Self {
        Self {
            settings,
            inner: Inner::Closed(0),
        }
    }

    /// Whether a call may go to this provider now (moves Open to HalfOpen after the cool-down).
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.inner {
            Inner::Closed(_) | Inner::HalfOpen => true,
            Inner::Open(until) if now >= until => {
                self.inner = Inner::HalfOpen;
                true
            }
            Inner::Open(_) => false,
        }
    }

    /// When an open circuit half-opens (`None` when not open).
    pub fn opens_at(&self) -> Option<Instant> {
        match self.inner {
            Inner::Open(until) => Some(until),
            _ => None,
        }
    }

    pub fn record_success(&mut self) -> Transition {
        let was_open = matches!(self.inner, Inner::HalfOpen | Inner::Open(_));
        self.inner = Inner::Closed(0);
        if was_open {
            Transition::Closed
        } else {
            Transition::None
        }
    }

    pub fn record_failure(&mut self, now: Instant) -> Transition {
        if self.settings.failure_threshold == 0 {
            return Transition::None;
        }
        let open_until = now + self.settings.cooldown;
        match self.inner {
            Inner::Closed(n) => {
                let n = n.saturating_add(1);
                if n >= self.settings.failure_threshold {
                    self.inner = Inner::Open(open_until);
                    Transition::Opened
                } else {
                    self.inner = Inner::Closed(n);
                    Transition::None
                }
            }
            Inner::HalfOpen => {
                self.inner = Inner::Open(open_until);
                Transition::Opened
            }
            // A call that was let through before the circuit opened: keep the later deadline.
            Inner::Open(until) => {
                self.inner = Inner::Open(until.max(open_until));
                Transition::None
            }
        }
    }

    pub fn state(&self, now: Instant) -> CircuitState {
        match self.inner {
            Inner::Closed(n) => CircuitState::Closed {
                consecutive_failures: n,
            },
            Inner::Open(until) if now >= until => CircuitState::HalfOpen,
            Inner::Open(until) => CircuitState::Open {
                retry_in: until - now,
            },
            Inner::HalfOpen => CircuitState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(CircuitSettings {
            failure_threshold: 3,
            cooldown: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_threshold_and_half_opens_after_cooldown() {
        let t0 = Instant::now();
        let mut b = breaker();
        assert_eq!(b.record_failure(t0), Transition::None);
        assert_eq!(b.record_failure(t0), Transition::None);
        assert_eq!(
            b.state(t0),
            CircuitState::Closed {
                consecutive_failures: 2
            }
        );
        assert_eq!(b.record_failure(t0), Transition::Opened);
        assert!(!b.allow(t0 + Duration::from_secs(9)));
        assert_eq!(
            b.state(t0 + Duration::from_secs(4)),
            CircuitState::Open {
                retry_in: Duration::from_secs(6)
            }
        );
        assert!(b.allow(t0 + Duration::from_secs(10)));
        assert_eq!(b.state(t0), CircuitState::HalfOpen);
        // The probe fails: open again for a full cool-down.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.record_failure(t1), Transition::Opened);
        assert!(!b.allow(t1 + Duration::from_secs(9)));
        assert!(b.allow(t1 + Duration::from_secs(10)));
        assert_eq!(b.record_success(), Transition::Closed);
        assert_eq!(
            b.state(t1),
            CircuitState::Closed {
                consecutive_failures: 0
            }
        );
    }

    #[test]
    fn success_resets_the_count_and_zero_threshold_disables() {
        let t0 = Instant::now();
        let mut b = breaker();
        b.record_failure(t0);
        b.record_failure(t0);
        assert_eq!(b.record_success(), Transition::None);
        b.record_failure(t0);
        b.record_failure(t0);
        assert!(b.allow(t0));
        let mut off = Breaker::new(CircuitSettings {
            failure_threshold: 0,
            cooldown: Duration::from_secs(1),
        });
        for _ in 0..100 {
            off.record_failure(t0);
        }
        assert!(off.allow(t0));
    }

    #[test]
    fn display_is_short() {
        assert_eq!(
            CircuitState::Open {
                retry_in: Duration::from_millis(12_400)
            }
            .to_string(),
            "open (retry in 12s)"
        );
        assert_eq!(
            CircuitState::Closed {
                consecutive_failures: 0
            }
            .to_string(),
            "ok"
        );
    }
}
