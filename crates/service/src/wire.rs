//! The wire: how Ops and Events cross the socket.
//!
//! Every message is one length-delimited frame (a 4-byte big-endian length, then that many bytes)
//! holding one serde JSON value; frames larger than [`MAX_FRAME`] are refused. A connection
//! starts with a greeting both ways that carries nothing but the protocol version, in a shape
//! that never changes ([`Greeting`]), so a client and a service of different versions always
//! understand each other well enough to say so and stop instead of misparsing what follows.
//! Then the client sends one [`Open`] and the service answers one [`Opened`]; after that the
//! client sends [`Op`]s and the service sends [`Event`]s until either side closes.

use std::path::PathBuf;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use llm_repl_protocol::{Event, NoticeLevel, Op, SessionId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// The version of everything after the greeting. Bump it on any change to [`Open`], [`Opened`],
/// [`Op`] or [`Event`] that an older peer could misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// The largest frame either side accepts (a session loaded with a long history is the largest
/// legitimate one). A bigger frame closes that connection.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// The first frame in each direction. Its shape is frozen: only `protocol` is ever read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Greeting {
    /// Always `"llm-repl"`: a stranger on the socket is told apart from a version mismatch.
    pub app: String,
    pub protocol: u32,
}

impl Greeting {
    pub fn ours() -> Self {
        Greeting {
            app: "llm-repl".into(),
            protocol: PROTOCOL_VERSION,
        }
    }
}

/// What a client wants from this connection (its second frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "open", rename_all = "snake_case")]
pub enum Open {
    /// A session of its own: an empty one, or a stored one to resume (which joins the agent
    /// already running it, if any).
    Session { spec: SessionSpec },
    /// Join the session another terminal uses (`None`: the one most recently active). A stored
    /// session no agent has open is opened with `spec`.
    Attach {
        session: Option<SessionId>,
        spec: SessionSpec,
    },
    /// Ask how the service is doing; answered with [`Opened::Status`], then closed.
    Status,
    /// Stop the service (running turns are interrupted and kept); answered, then closed.
    Stop,
}

/// How a new session's agent is set up: what the client's flags and directory say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSpec {
    /// The directory tools are confined to (the client's working directory, canonical).
    pub workdir: PathBuf,
    /// Provider entry or route name; `None`: the service's choice.
    pub provider: Option<String>,
    /// Model override.
    pub model: Option<String>,
    /// Approval policy override (`never`, `on-risk`, `always`).
    pub approval: Option<String>,
    pub max_steps: Option<u32>,
    /// False for headless clients: a call that needs approval is denied instead of waiting.
    pub interactive: bool,
    /// Whether the workspace's own plugin tools load (the client asked its user).
    pub trusted: bool,
    /// A stored session to continue.
    pub resume: Option<SessionId>,
    /// Continue the most recent session.
    pub continue_last: bool,
    /// Notices the client wants shown at the start (its start-up checks).
    pub notices: Vec<(NoticeLevel, String)>,
    /// Who is connecting, for "answered by ..." lines (e.g. `tui pid 4242`).
    pub client: String,
    /// Which key the client's environment has for the session's provider (a fingerprint, never
    /// the key), so the service can say when it uses a different one.
    #[serde(default)]
    pub key: Option<KeyFingerprint>,
}

/// An environment variable holding a provider key, and [`crate::paths::fingerprint`] of its
/// value (`None`: unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFingerprint {
    pub env: String,
    pub hash: Option<u64>,
}

/// The service's answer to [`Open`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "opened", rename_all = "snake_case")]
pub enum Opened {
    /// Events follow.
    Ok,
    /// The request cannot be served; the connection closes.
    Refused {
        message: String,
    },
    Status {
        status: Status,
    },
    Stopping,
}

/// `llm-repl service status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub protocol: u32,
    pub data_dir: PathBuf,
    pub uptime_secs: u64,
    pub clients: usize,
    pub sessions: Vec<SessionStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionStatus {
    pub id: SessionId,
    pub clients: usize,
    pub running: bool,
    /// A tool call waits for an approval.
    pub waiting_approval: bool,
}

/// Why a frame could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection.
    Closed,
    /// An I/O error, or a frame over [`MAX_FRAME`].
    Io(std::io::Error),
    /// Not the JSON expected.
    Malformed(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => write!(f, "the connection closed"),
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Malformed(e) => write!(f, "malformed frame: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// The reading half of a connection.
pub struct Reader<R> {
    inner: FramedRead<R, LengthDelimitedCodec>,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub fn new(read: R) -> Self {
        Reader {
            inner: FramedRead::new(read, codec()),
        }
    }

    /// The next frame as `T`.
    pub async fn read<T: DeserializeOwned>(&mut self) -> Result<T, ReadError> {
        match self.inner.next().await {
            None => Err(ReadError::Closed),
            Some(Err(e)) => Err(ReadError::Io(e)),
            Some(Ok(bytes)) => {
                serde_json::from_slice(&bytes).map_err(|e| ReadError::Malformed(e.to_string()))
            }
        }
    }
}

/// The writing half of a connection.
pub struct Writer<W> {
    inner: FramedWrite<W, LengthDelimitedCodec>,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(write: W) -> Self {
        Writer {
            inner: FramedWrite::new(write, codec()),
        }
    }

    /// Sends `value` as one frame (and flushes).
    pub async fn write<T: Serialize>(&mut self, value: &T) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(value).map_err(std::io::Error::other)?;
        self.inner.send(Bytes::from(bytes)).await
    }
}

/// Frames after the handshake, client to service.
pub type ClientFrame = Op;
/// Frames after the handshake, service to client.
pub type ServiceFrame = Event;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversized_ones_are_refused() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut w = Writer::new(a);
        let mut r = Reader::new(b);
        w.write(&Op::Submit { text: "hi".into() }).await.unwrap();
        let op: Op = r.read().await.unwrap();
        assert_eq!(op, Op::Submit { text: "hi".into() });
        // A header announcing more than MAX_FRAME is an error, not an allocation.
        let (mut a, b) = tokio::io::duplex(64);
        let mut r = Reader::new(b);
        tokio::io::AsyncWriteExt::write_all(&mut a, &((MAX_FRAME as u32) + 1).to_be_bytes())
            .await
            .unwrap();
        assert!(matches!(r.read::<Op>().await, Err(ReadError::Io(_))));
    }

    #[test]
    fn the_greeting_shape_is_frozen() {
        let text = serde_json::to_string(&Greeting::ours()).unwrap();
        assert_eq!(
            text,
            format!("{{\"app\":\"llm-repl\",\"protocol\":{PROTOCOL_VERSION}}}")
        );
    }
}
