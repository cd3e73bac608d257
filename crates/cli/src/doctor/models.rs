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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// Serves one canned HTTP answer per connection (`None`: accept and never answer); returns
    /// the base URL and a channel of the request heads it saw.
    async fn canned(answer: Option<&'static str>) -> (String, tokio::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let _ = tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .await;
                match answer {
                    Some(a) => {
                        let _ = sock.write_all(a.as_bytes()).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        });
        (base, rx)
    }

    fn http(status: &str, body: &str) -> &'static str {
        let text = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        Box::leak(text.into_boxed_str())
    }

    async fn ask(base: &str, key: Option<&str>) -> Result<Probe, Unreachable> {
        let headers = BTreeMap::from([("x-extra".to_string(), "1".to_string())]);
        list(
            base,
            key,
            &headers,
            Duration::from_secs(2),
            Duration::from_secs(2),
        )
        .await
    }

    #[tokio::test]
    async fn lists_ids_sending_the_key_and_headers() {
        let (base, mut seen) = canned(Some(http("200 OK", r#"{"data":[{"id":"m1"}]}"#))).await;
        let probe = ask(&base, Some("k-123")).await.unwrap();
        assert!(matches!(probe.listing, Listing::Models(ref ids) if ids == &["m1"]));
        let head = seen.recv().await.unwrap().to_ascii_lowercase();
        assert!(head.starts_with("get /v1/models "), "{head}");
        assert!(head.contains("authorization: bearer k-123"), "{head}");
        assert!(head.contains("x-extra: 1"), "{head}");
    }

    #[tokio::test]
    async fn refusal_and_missing_endpoint_are_told_apart() {
        let (base, _seen) = canned(Some(http("401 Unauthorized", "{}"))).await;
        let probe = ask(&base, Some("bad")).await.unwrap();
        assert!(matches!(probe.listing, Listing::Refused { status: 401 }));
        let (base, _seen) = canned(Some(http("404 Not Found", "no"))).await;
        let probe = ask(&base, None).await.unwrap();
        assert!(matches!(probe.listing, Listing::Unlisted { ref what } if what == "HTTP 404"));
    }

    #[tokio::test]
    async fn silence_is_a_timeout_and_no_listener_a_connect_error() {
        let (base, _seen) = canned(None).await;
        let headers = BTreeMap::new();
        let quick = Duration::from_millis(300);
        let err = list(&base, None, &headers, quick, quick).await.unwrap_err();
        assert!(matches!(err, Unreachable::Timeout), "{err:?}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = ask(&format!("http://127.0.0.1:{port}/v1"), None)
            .await
            .unwrap_err();
        assert!(matches!(err, Unreachable::Connect(_)), "{err:?}");
    }

    #[test]
    fn parses_openai_and_bare_lists() {
        let ids = parse_ids(br#"{"object":"list","data":[{"id":"a"},{"id":"b"}]}"#).unwrap();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(parse_ids(br#"[{"id":"x"}]"#).unwrap(), ["x"]);
        assert!(parse_ids(b"<html>").is_none());
        assert!(parse_ids(br#"{"data": 3}"#).is_none());
    }
}
