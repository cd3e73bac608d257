//! A fake OpenAI-compatible server on plain tokio, for tests that must never reach a real
//! provider.
//!
//! It serves `POST /v1/chat/completions` from a queue of [`Scripted`] responses (one consumed per
//! request; when the queue is empty, a responder closure if one is set, else a clear 500 "script
//! exhausted") and `GET /v1/models` from a configured list. Every request is recorded
//! ([`Recorded`]) so tests assert what the client sent. Start it inside a test's runtime with
//! [`FakeServer::start`], or on its own thread with [`FakeServer::spawn_background`] for tests
//! that drive the real binary as a subprocess.

pub mod chunks;
pub mod http;
pub mod script;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use script::{
    Frame, HttpError, MALFORMED_LINE, Reply, Scripted, StreamEnd, StreamScript, ToolCallSpec,
    UsageSpec,
};

/// Computes a response when the queue is empty: gets the request and the number of chat
/// requests served before it.
pub type Responder = Arc<dyn Fn(&Recorded, u64) -> Scripted + Send + Sync>;

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
    /// The body as text (lossy UTF-8).
    pub raw_body: String,
}

impl Recorded {
    /// A header's value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is a chat completion request.
    pub fn is_chat(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/chat/completions")
    }

    /// The request's `messages` array (empty when absent).
    pub fn messages(&self) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Scripted>,
    requests: Vec<Recorded>,
    models: Vec<String>,
    /// An HTTP status `GET /v1/models` answers with instead of the list.
    models_error: Option<u16>,
    responder: Option<Responder>,
    chat_served: u64,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock can only come from a test's responder; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The script and the record of a running fake server. Cheap to clone; shared by
/// [`FakeServer`] and [`BackgroundServer`] (both deref to it).
#[derive(Clone)]
pub struct FakeHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeHandle {
    /// `http://127.0.0.1:PORT/v1` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends a response to the queue.
    pub fn push(&self, response: impl Into<Scripted>) {
        self.shared.lock().queue.push_back(response.into());
    }

    /// Appends several responses.
    pub fn push_all(&self, responses: impl IntoIterator<Item = Scripted>) {
        self.shared.lock().queue.extend(responses);
    }

    /// Responses not yet consumed.
    pub fn pending(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Sets the models listed by `GET /v1/models`; `name@N` lists `name` with a context window
    /// of N tokens (`context_length`, as OpenRouter reports it).
    pub fn set_models(&self, models: &[&str]) {
        self.shared.lock().models = models.iter().map(|m| m.to_string()).collect();
    }

    /// Makes `GET /v1/models` answer with HTTP `status` (an error body) instead of the list;
    /// `None` lists again.
    pub fn set_models_error(&self, status: Option<u16>) {
        self.shared.lock().models_error = status;
    }

    /// Answers with `responder` whenever the queue is empty.
    pub fn set_responder(&self, responder: Responder) {
        self.shared.lock().responder = Some(responder);
    }

    /// Answers with a copy of `response` whenever the queue is empty.
    pub fn set_fallback(&self, response: Scripted) {
        self.set_responder(Arc::new(move |_, _| response.clone()));
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Only the chat completion requests.
    pub fn chat_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_chat)
            .collect()
    }

    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// Waits (async) until at least `n` requests arrived; false on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.shared.notify.notified();
                if self.request_count() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Blocks the thread until at least `n` requests arrived; false on timeout.
    pub fn wait_for_requests_blocking(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while state.requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.cond.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// Records a request and picks what to answer.
    fn record(&self, recorded: Recorded) -> Action {
        let mut state = self.shared.lock();
        state.requests.push(recorded.clone());
        let action = route(&mut state, &recorded);
        drop(state);
        self.shared.notify.notify_waiters();
        self.shared.cond.notify_all();
        action
    }
}

/// What to write back for one request.
enum Action {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Stream(StreamScript),
    Reset,
}

fn json_action(status: u16, body: &Value) -> Action {
    Action::Full {
        status,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

fn error_action(error: &HttpError) -> Action {
    let mut headers = Vec::new();
    if let Some(v) = &error.retry_after {
        headers.push(("retry-after".to_string(), v.clone()));
    }
    if let Some(ms) = error.retry_after_ms {
        headers.push(("retry-after-ms".to_string(), ms.to_string()));
    }
    let body = error.raw_body.clone().unwrap_or_else(|| {
        json!({"error": {
            "message": error.message,
            "type": error.error_type,
            "param": null,
            "code": error.code,
        }})
        .to_string()
    });
    Action::Full {
        status: error.status,
        headers,
        body: body.into_bytes(),
    }
}

fn route(state: &mut State, req: &Recorded) -> Action {
    if req.method == "GET" && req.path.ends_with("/models") {
        if let Some(status) = state.models_error {
            return error_action(&HttpError::new(
                status,
                format!("fake server: /models answers {status}"),
            ));
        }
        let data: Vec<Value> = state
            .models
            .iter()
            .map(|id| match id.split_once('@') {
                // `name@N`: listed as `name` with a context window of N (OpenRouter's field).
                Some((id, n)) => json!({"id": id, "object": "model", "created": chunks::CREATED,
                    "owned_by": "fake", "context_length": n.parse::<u64>().unwrap_or(0)}),
                None => json!({"id": id, "object": "model", "created": chunks::CREATED, "owned_by": "fake"}),
            })
            .collect();
        return json_action(200, &json!({"object": "list", "data": data}));
    }
    if !req.is_chat() {
        let error = HttpError {
            error_type: "invalid_request_error".into(),
            ..HttpError::new(
                404,
                format!("fake server: no route {} {}", req.method, req.path),
            )
        };
        return error_action(&error);
    }
    let serial = state.chat_served;
    state.chat_served += 1;
    let scripted = match state.queue.pop_front() {
        Some(s) => s,
        None => match &state.responder {
            Some(responder) => responder(req, serial),
            None => Scripted::Error(HttpError::new(
                500,
                format!(
                    "fake server: script exhausted (chat request #{})",
                    serial + 1
                ),
            )),
        },
    };
    match scripted {
        Scripted::Reply(reply) => {
            let model = req.body["model"].as_str().unwrap_or("fake-model");
            Action::Stream(chunks::expand(&reply, model, serial))
        }
        Scripted::Stream(stream) => Action::Stream(stream),
        Scripted::Error(error) => error_action(&error),
        Scripted::Reset => Action::Reset,
    }
}

/// A fake server running on the current tokio runtime. Stops when dropped.
pub struct FakeServer {
    handle: FakeHandle,
    cancel: CancellationToken,
}

impl Deref for FakeServer {
    type Target = FakeHandle;
    fn deref(&self) -> &FakeHandle {
        &self.handle
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl FakeServer {
    /// Binds 127.0.0.1 on a free port and serves on the current runtime.
    ///
    /// # Panics
    /// When no local port can be bound (a broken test machine).
    pub async fn start() -> FakeServer {
        match Self::try_start().await {
            Ok(server) => server,
            Err(e) => panic!("fake server: cannot bind 127.0.0.1: {e}"),
        }
    }

    /// Like [`FakeServer::start`], returning the bind error.
    pub async fn try_start() -> std::io::Result<FakeServer> {
        Self::bind("127.0.0.1:0").await
    }

    /// Serves on a given address (the `fake-openai` binary uses a fixed port).
    pub async fn bind(addr: &str) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(addr).await?;
        let handle = FakeHandle {
            addr: listener.local_addr()?,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
                cond: Condvar::new(),
            }),
        };
        let cancel = CancellationToken::new();
        tokio::spawn(accept_loop(listener, handle.clone(), cancel.clone()));
        Ok(FakeServer { handle, cancel })
    }

    /// Starts a server with this script on its own thread and runtime, for tests that run the
    /// real binary with `std::process::Command`. Stops (and joins) when the returned value drops.
    ///
    /// # Panics
    /// When the thread or runtime cannot start or no port can be bound.
    pub fn spawn_background(script: Vec<Scripted>) -> BackgroundServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("fake-openai".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match FakeServer::try_start().await {
                        Ok(server) => {
                            server.push_all(script);
                            let _ = tx.send(Ok(server.handle.clone()));
                            stop.cancelled().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => panic!("fake server: cannot spawn thread: {e}"),
        };
        let handle = match rx.recv() {
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => panic!("fake server: cannot start: {e}"),
            Err(e) => panic!("fake server: thread died: {e}"),
        };
        BackgroundServer {
            handle,
            cancel,
            thread: Some(thread),
        }
    }
}

/// A fake server on its own thread (see [`FakeServer::spawn_background`]).
pub struct BackgroundServer {
    handle: FakeHandle,
    cancel: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Deref for BackgroundServer {
    type Target = FakeHandle;
    fn deref(&self) -> &FakeHandle {
        &self.handle
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, handle: FakeHandle, cancel: CancellationToken) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(stream, handle.clone(), cancel.clone()));
                }
            }
        }
    }
}

async fn serve_connection(stream: TcpStream, handle: FakeHandle, cancel: CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = serve_requests(stream, handle, cancel.clone()) => {}
    }
}

async fn serve_requests(
    stream: TcpStream,
    handle: FakeHandle,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let mut conn = BufReader::new(stream);
    while let Some(raw) = http::read_request(&mut conn).await? {
        let path = raw.path.split('?').next().unwrap_or("").to_string();
        let raw_body = String::from_utf8_lossy(&raw.body).into_owned();
        let body = serde_json::from_str(&raw_body).unwrap_or(Value::Null);
        let close = raw.wants_close();
        let recorded = Recorded {
            method: raw.method,
            path,
            headers: raw.headers,
            body,
            raw_body,
        };
        match handle.record(recorded) {
            Action::Full {
                status,
                headers,
                body,
            } => {
                http::write_full(conn.get_mut(), status, "application/json", &headers, &body)
                    .await?;
            }
            Action::Reset => {
                // RST instead of FIN: the client sees "connection reset".
                let _ = conn.get_ref().set_zero_linger();
                return Ok(());
            }
            Action::Stream(script) => {
                if !write_stream(&mut conn, &script, &cancel).await? {
                    return Ok(());
                }
            }
        }
        if close {
            break;
        }
    }
    conn.get_mut().shutdown().await
}

/// Writes one SSE response; `Ok(false)` when the connection must close afterwards.
async fn write_stream(
    conn: &mut BufReader<TcpStream>,
    script: &StreamScript,
    cancel: &CancellationToken,
) -> std::io::Result<bool> {
    let delay = Duration::from_millis(script.chunk_delay_ms);
    http::write_sse_head(conn.get_mut()).await?;
    for (i, frame) in script.frames.iter().enumerate() {
        if i > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match frame {
            Frame::Data(value) => {
                let line = format!("data: {value}\n\n");
                http::write_chunk(conn.get_mut(), line.as_bytes()).await?;
            }
            Frame::Raw(text) => http::write_chunk(conn.get_mut(), text.as_bytes()).await?,
            Frame::PauseMs(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        }
    }
    match script.end {
        StreamEnd::Done => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            http::write_chunk(conn.get_mut(), b"data: [DONE]\n\n").await?;
            http::write_last_chunk(conn.get_mut()).await?;
            Ok(true)
        }
        StreamEnd::Cut => Ok(false),
        StreamEnd::Stall => {
            // Hold the connection until the client gives up (EOF/error) or the server stops.
            let mut buf = [0u8; 256];
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(false),
                    read = conn.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return Ok(false),
                        Ok(_) => {}
                    },
                }
            }
        }
    }
}
