//! Which failures are worth another attempt, how many, and how to name them for a person.
//!
//! A refused connection or an unknown host is usually a wrong `base_url` or a server that is
//! down: a few quick retries, so the user learns it in seconds. A 5xx, a 429, a timeout or a
//! stream cut off mid-way is usually the server having a bad moment: a longer budget with
//! backoff. A refused key or a bad request will not change on retry: none.

use llm_repl_core::provider::{ProviderError, ProviderErrorKind};

/// How a failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// No connection could be made: `max_retries`.
    Connect,
    /// The server failed this time (5xx, 429, timeout, broken stream): `max_transient_retries`.
    Transient,
    /// Retrying cannot help (auth, 4xx other than 429, bad request).
    Final,
}

pub fn class(error: &ProviderError) -> RetryClass {
    match error.kind {
        ProviderErrorKind::Connect => RetryClass::Connect,
        ProviderErrorKind::Http { status } if status == 429 || status >= 500 => {
            RetryClass::Transient
        }
        ProviderErrorKind::Timeout | ProviderErrorKind::Stream => RetryClass::Transient,
        ProviderErrorKind::Http { .. } | ProviderErrorKind::Auth | ProviderErrorKind::Other => {
            RetryClass::Final
        }
    }
}

/// The failure in a few words, for the status line (the full message goes to the log and the
/// final error).
pub fn reason(error: &ProviderError) -> String {
    match error.kind {
        ProviderErrorKind::Connect => "cannot connect".into(),
        ProviderErrorKind::Http { status: 429 } => "rate limited (HTTP 429)".into(),
        ProviderErrorKind::Http { status } if status >= 500 => {
            format!("server error (HTTP {status})")
        }
        ProviderErrorKind::Http { status } => format!("request refused (HTTP {status})"),
        ProviderErrorKind::Auth => "the key was refused".into(),
        ProviderErrorKind::Timeout => "no answer in time".into(),
        ProviderErrorKind::Stream => "the answer broke off".into(),
        ProviderErrorKind::Other => "request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(kind: ProviderErrorKind) -> ProviderError {
        ProviderError::new(kind, "{\"error\":\n{\"message\":\"raw\"}}")
    }

    #[test]
    fn classes_follow_what_a_retry_can_change() {
        assert_eq!(class(&e(ProviderErrorKind::Connect)), RetryClass::Connect);
        for status in [429, 500, 502, 503, 504] {
            let err = e(ProviderErrorKind::Http { status });
            assert_eq!(class(&err), RetryClass::Transient, "{status}");
        }
        assert_eq!(class(&e(ProviderErrorKind::Timeout)), RetryClass::Transient);
        assert_eq!(class(&e(ProviderErrorKind::Stream)), RetryClass::Transient);
        for kind in [
            ProviderErrorKind::Http { status: 400 },
            ProviderErrorKind::Http { status: 404 },
            ProviderErrorKind::Auth,
            ProviderErrorKind::Other,
        ] {
            assert_eq!(class(&e(kind)), RetryClass::Final, "{kind:?}");
        }
    }

    #[test]
    fn reasons_are_words_on_one_line_without_the_raw_body() {
        for kind in [
            ProviderErrorKind::Connect,
            ProviderErrorKind::Http { status: 429 },
            ProviderErrorKind::Http { status: 500 },
            ProviderErrorKind::Http { status: 400 },
            ProviderErrorKind::Auth,
            ProviderErrorKind::Timeout,
            ProviderErrorKind::Stream,
            ProviderErrorKind::Other,
        ] {
            let r = reason(&e(kind));
            assert!(
                !r.contains('\n') && !r.contains('{') && !r.is_empty(),
                "{r}"
            );
        }
        assert_eq!(
            reason(&e(ProviderErrorKind::Http { status: 503 })),
            "server error (HTTP 503)"
        );
    }
}
