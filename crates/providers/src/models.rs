//! `GET {base_url}/models` of an OpenAI-compatible server: the one place that lists a
//! provider's models. `doctor` uses [`probe`] (is the server there, does it take the key, which
//! models it lists, how fast), the provider uses [`list_with`] over its own HTTP client for the
//! model picker and for context windows the server reports.
//!
//! It sends nothing but the key header (and the entry's extra headers) and reads one JSON.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use llm_repl_core::{ListedModel, ProviderError, ProviderErrorKind};

use crate::Resolved;

/// What the models endpoint said.
#[derive(Debug)]
pub enum Listing {
    /// 2xx with a parseable `{"data": [{"id": ...}]}` (or a bare array).
    Models(Vec<ListedModel>),
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

/// Asks the resolved entry's `{base_url}/models` within `timeout` (the connect step within
/// `connect_timeout`), sending `key` (the value of its `api_key_env`) if any.
pub async fn probe(
    resolved: &Resolved,
    key: Option<&str>,
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<Probe, Unreachable> {
    list(
        &resolved.base_url,
        key,
        &resolved.headers,
        connect_timeout,
        timeout,
    )
    .await
}

/// Asks `{base_url}/models` within `timeout` (the connect step within `connect_timeout`) on a
/// client of its own.
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
    list_with(&client, base_url, key, headers, timeout).await
}

/// Asks `{base_url}/models` on `client` within `timeout`.
pub async fn list_with(
    client: &reqwest::Client,
    base_url: &str,
    key: Option<&str>,
    headers: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<Probe, Unreachable> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut request = client.get(&url).timeout(timeout);
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
        200..=299 => match parse(&body) {
            Some(models) => Listing::Models(models),
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

/// The outcome of a listing as the provider reports it: the models, or one line saying why
/// there are none (naming the server, never the key).
pub fn into_result(
    outcome: Result<Probe, Unreachable>,
    base_url: &str,
) -> Result<Vec<ListedModel>, ProviderError> {
    let base = base_url.trim_end_matches('/');
    match outcome {
        Ok(Probe {
            listing: Listing::Models(models),
            ..
        }) => Ok(models),
        Ok(Probe {
            listing: Listing::Refused { status },
            ..
        }) => Err(ProviderError::new(
            ProviderErrorKind::Auth,
            format!("{base}/models refused the key (HTTP {status})"),
        )),
        Ok(Probe {
            listing: Listing::Unlisted { what },
            ..
        }) => {
            let status = what
                .strip_prefix("HTTP ")
                .and_then(|s| s.parse::<u16>().ok());
            let kind = status.map_or(ProviderErrorKind::Other, |status| ProviderErrorKind::Http {
                status,
            });
            Err(ProviderError::new(
                kind,
                format!("{base} does not list models ({what} on /models)"),
            ))
        }
        Err(Unreachable::Connect(e)) => Err(ProviderError::new(
            ProviderErrorKind::Connect,
            format!("cannot connect to {base} ({e})"),
        )),
        Err(Unreachable::Timeout) => Err(ProviderError::new(
            ProviderErrorKind::Timeout,
            format!("{base}/models did not answer in time"),
        )),
        Err(Unreachable::Other(e)) => Err(ProviderError::new(
            ProviderErrorKind::Other,
            format!("{base}/models: {e}"),
        )),
    }
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

/// The models of `{"data": [{"id": "...", ...}, ...]}` (also accepts a bare array), each with
/// the context window where the server reports one under a name some server uses.
fn parse(body: &[u8]) -> Option<Vec<ListedModel>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = value.get("data").unwrap_or(&value).as_array()?;
    Some(
        data.iter()
            .filter_map(|m| {
                let id = m.get("id")?.as_str()?.to_string();
                let context_window = ["context_length", "context_window", "max_model_len"]
                    .iter()
                    .find_map(|k| m[*k].as_u64())
                    .or_else(|| m["top_provider"]["context_length"].as_u64())
                    .or_else(|| m["meta"]["n_ctx"].as_u64())
                    .filter(|w| *w > 0);
                Some(ListedModel { id, context_window })
            })
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
        assert!(matches!(probe.listing, Listing::Models(ref m) if m.len() == 1 && m[0].id == "m1"));
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
        let ids = |body: &[u8]| -> Option<Vec<String>> {
            Some(parse(body)?.into_iter().map(|m| m.id).collect())
        };
        let listed = ids(br#"{"object":"list","data":[{"id":"a"},{"id":"b"}]}"#).unwrap();
        assert_eq!(listed, ["a", "b"]);
        assert_eq!(ids(br#"[{"id":"x"}]"#).unwrap(), ["x"]);
        assert!(ids(b"<html>").is_none());
        assert!(ids(br#"{"data": 3}"#).is_none());
    }

    #[test]
    fn reads_the_window_under_each_servers_name_for_it() {
        let models = parse(
            br#"{"data":[{"id":"or","context_length":200000},
                {"id":"vllm","max_model_len":32768},
                {"id":"top","top_provider":{"context_length":1000}},
                {"id":"cpp","meta":{"n_ctx":4096}},
                {"id":"none"},{"id":"zero","context_length":0}]}"#,
        )
        .unwrap();
        let windows: Vec<(&str, Option<u64>)> = models
            .iter()
            .map(|m| (m.id.as_str(), m.context_window))
            .collect();
        assert_eq!(
            windows,
            [
                ("or", Some(200_000)),
                ("vllm", Some(32_768)),
                ("top", Some(1000)),
                ("cpp", Some(4096)),
                ("none", None),
                ("zero", None)
            ]
        );
    }

    #[test]
    fn failures_become_one_line_provider_errors() {
        let base = "http://h/v1/";
        let refused = into_result(
            Ok(Probe {
                listing: Listing::Refused { status: 401 },
                latency: Duration::ZERO,
            }),
            base,
        )
        .unwrap_err();
        assert_eq!(refused.kind, ProviderErrorKind::Auth);
        assert_eq!(
            refused.message,
            "http://h/v1/models refused the key (HTTP 401)"
        );
        let missing = into_result(
            Ok(Probe {
                listing: Listing::Unlisted {
                    what: "HTTP 404".into(),
                },
                latency: Duration::ZERO,
            }),
            base,
        )
        .unwrap_err();
        assert_eq!(missing.kind, ProviderErrorKind::Http { status: 404 });
        assert!(
            missing.message.contains("does not list models"),
            "{missing}"
        );
        let down = into_result(Err(Unreachable::Connect("refused".into())), base).unwrap_err();
        assert_eq!(down.kind, ProviderErrorKind::Connect);
        assert_eq!(down.message, "cannot connect to http://h/v1 (refused)");
    }
}
