//! `GET {base_url}/models`: is the server there, does it take the key, which models it lists.
//!
//! A stopgap: HTTP to model servers belongs to the providers crate, and this function should
//! move there (beside `OpenAiProvider`, sharing its client). It is here so that doctor could be
//! built without changing that crate; it sends nothing but the key header and reads one JSON.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What the models endpoint said.
#[derive(Debug)]
pub enum Listing {
    /// 2xx with a parseable `{"data": [{"id": ...}]}`.
    Models(Vec<String>),
    /// 401 or 403.
    Refused { status: u16 },
    /// Any other answer (404: no such endpoint; or not the expected JSON).
    Unlisted { what: String },
}

/// The answer and how long it took.
#[derive(Debug)]
pub struct Probe {
    pub listing: Listing,
    pub latency: Duration,
}

/// Why no answer came.
#[derive(Debug)]
pub enum Unreachable {
    Connect(String),
    Timeout,
    Other(String),
}

/// Asks `{base_url}/models` within `timeout` (the connect step within `connect_timeout`).
pub async fn list(
    base_url: &str,
    key: Option<&str>,
    headers: &BTreeMap<String, String>,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<Probe, Unreachable> {
    let client = reqwest::Client::builder()
        .connect_timeout(connect_timeout.min(timeout))
        .timeout(timeout)
        .build()
        .map_err(|e| Unreachable::Other(format!("cannot build the HTTP client: {e}")))?;
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut request = client.get(&url);
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let started = Instant::now();
    let response = request.send().await.map_err(classify)?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(classify)?;
    let latency = started.elapsed();
    let listing = match status {
        401 | 403 => Listing::Refused { status },
        200..=299 => match parse_ids(&body) {
            Some(ids) => Listing::Models(ids),
            None => Listing::Unlisted {
                what: "an answer that is not a model list".into(),
            },
        },
        _ => Listing::Unlisted {
            what: format!("HTTP {status}"),
        },
    };
    Ok(Probe { listing, latency })
}

fn classify(e: reqwest::Error) -> Unreachable {
    if e.is_timeout() {
        Unreachable::Timeout
    } else if e.is_connect() {
        // The source chain says why (refused, DNS, TLS); the URL is shown by the caller.
        Unreachable::Connect(root_cause(&e))
    } else {
        Unreachable::Other(root_cause(&e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// The ids of `{"data": [{"id": "..."}, ...]}` (also accepts a bare array).
fn parse_ids(body: &[u8]) -> Option<Vec<String>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = value.get("data").unwrap_or(&value).as_array()?;
    Some(
        data.iter()
            .filter_map(|m| m.get("id").and_then(|id| id.as_str()).map(String::from))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_openai_and_bare_lists() {
        let ids = parse_ids(br#"{"object":"list","data":[{"id":"a"},{"id":"b"}]}"#).unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(parse_ids(br#"[{"id":"x"}]"#).unwrap(), ["x"]);
        assert!(parse_ids(b"<html>").is_none());
        assert!(parse_ids(br#"{"data": 3}"#).is_none());
    }
}
