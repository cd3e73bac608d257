//! One open session in the service: its agent, and the clients attached to it.
//!
//! The hub owns the session's agent task (spawned from the unchanged [`llm_repl_core::Agent`])
//! and fans its Events out to every attached client through a bounded broadcast ring: a client
//! that falls behind by more than the ring holds is not waited for; it is told so and
//! resynchronised from the replay (below). The hub keeps, for clients that attach later or
//! fall behind, a replay of the session: a snapshot (`SessionLoaded` read from the store at the
//! last turn boundary, or the `SessionStarted` of an empty session) plus every Event since.
//! Taking the replay and subscribing happen under one lock with the fan-out, so a client gets
//! each Event exactly once.
//!
//! It also keeps the rules of a shared session: a prompt sent during a turn is queued and run
//! after it; the first answer to an approval wins and the others are told who answered; an
//! answer to a client's tagged request goes to that client alone (request ids are remapped so
//! two clients' ids never collide).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use llm_repl_core::AgentHandle;
use llm_repl_protocol::{CallId, Event, NoticeLevel, Op, RequestId, SessionId, SessionInfo};
use llm_repl_store::Store;
use tokio::sync::{broadcast, mpsc};

use crate::wire::SessionSpec;

/// A connection's number in this service.
pub type ClientId = u64;

/// How many Events a client may be behind before it is resynchronised.
pub const CLIENT_BUFFER: usize = 4096;

/// One Event on its way to clients.
#[derive(Debug, Clone)]
pub enum Delivery {
    All(Arc<Event>),
    To(ClientId, Arc<Event>),
}

/// What a client's Op asks of its connection, beyond what the hub did with it.
#[derive(Debug, PartialEq)]
pub enum Next {
    Stay,
    /// The client leaves (its `Op::Shutdown`); the session goes on.
    Detach,
    /// The client wants another session: `None` a new empty one, `Some` a stored one.
    Switch(Option<SessionId>),
}

pub struct Hub {
    ops: mpsc::UnboundedSender<Op>,
    /// How this session's agent was set up (a client switching to a new session from here
    /// gets the same directory and options).
    pub spec: SessionSpec,
    tx: broadcast::Sender<Delivery>,
    state: Mutex<State>,
    store: Option<Store>,
}

#[derive(Default)]
struct State {
    info: Option<SessionInfo>,
    snapshot: Option<Event>,
    log: Vec<Event>,
    running: bool,
    queue: VecDeque<String>,
    clients: usize,
    replies: HashMap<RequestId, (ClientId, RequestId)>,
    next_request: RequestId,
    /// Approvals asked in the running turn: `None` while open, then who answered.
    approvals: HashMap<CallId, Option<String>>,
    /// The agent was told to stop: nobody may attach any more.
    closing: bool,
    done: bool,
}

/// A client's place in a hub: where its Events come from, and what to show first.
pub struct Subscription {
    pub rx: broadcast::Receiver<Delivery>,
    pub replay: Vec<Event>,
}

impl Hub {
    /// Wraps a spawned agent and starts fanning its Events out.
    pub fn start(handle: AgentHandle, spec: SessionSpec, store: Option<Store>) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(CLIENT_BUFFER);
        let hub = Arc::new(Hub {
            ops: handle.ops,
            spec,
            tx,
            state: Mutex::new(State {
                next_request: 1,
                ..State::default()
            }),
            store,
        });
        tokio::spawn(hub.clone().pump(handle.events));
        hub
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-changed in a way that matters
        // more than stopping the service would: carry on with what is there.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The session's id, once the agent has said it.
    pub fn session(&self) -> Option<SessionId> {
        self.state().info.as_ref().map(|i| i.id.clone())
    }

    pub fn clients(&self) -> usize {
        self.state().clients
    }

    pub fn running(&self) -> bool {
        self.state().running
    }

    pub fn waiting_approval(&self) -> bool {
        self.state().approvals.values().any(Option::is_none)
    }

    /// Whether the agent has stopped (the hub can be forgotten).
    pub fn done(&self) -> bool {
        self.state().done
    }

    /// Attaches a client; `None` when the session is closing (start a new hub then).
    pub fn attach(&self) -> Option<Subscription> {
        let mut st = self.state();
        if st.closing {
            return None;
        }
        st.clients += 1;
        Some(self.subscribe_locked(&st))
    }

    /// A fresh place for a client that fell behind: the replay again, from now on.
    pub fn resubscribe(&self) -> Subscription {
        let st = self.state();
        self.subscribe_locked(&st)
    }

    fn subscribe_locked(&self, st: &State) -> Subscription {
        let mut replay: Vec<Event> = st.snapshot.iter().cloned().collect();
        replay.extend(st.log.iter().cloned());
        Subscription {
            rx: self.tx.subscribe(),
            replay,
        }
    }

    /// A client left. The last one leaving an idle session stops its agent; a running turn
    /// goes on and the agent stops when it ends.
    pub fn detach(&self, client: ClientId) {
        let mut st = self.state();
        st.clients = st.clients.saturating_sub(1);
        st.replies.retain(|_, (c, _)| *c != client);
        self.close_if_unused(&mut st);
    }

    fn close_if_unused(&self, st: &mut State) {
        if st.clients == 0 && !st.running && st.queue.is_empty() && !st.closing {
            st.closing = true;
            let _ = self.ops.send(Op::Shutdown);
        }
    }

    /// Stops the agent whatever its clients (the service is stopping). A running turn is
    /// interrupted and what it produced is kept.
    pub fn shut_down(&self) {
        let mut st = self.state();
        st.closing = true;
        st.queue.clear();
        let _ = self.ops.send(Op::Shutdown);
    }

    /// An Op from `client` (`who` names it in notices to the others).
    pub fn handle(&self, client: ClientId, who: &str, op: Op) -> Next {
        let (tag, op) = op.untag();
        let mut st = self.state();
        let tag = tag.map(|local| {
            let global = st.next_request;
            st.next_request += 1;
            st.replies.insert(global, (client, local));
            global
        });
        let tagged = |op: Op| match tag {
            Some(id) => op.tagged(id),
            None => op,
        };
        match op {
            Op::Shutdown => return Next::Detach,
            Op::NewSession => return Next::Switch(None),
            Op::OpenSession { id } => {
                if st.info.as_ref().is_some_and(|i| i.id == id) {
                    // Already here: show it again, to this client alone.
                    drop(st);
                    let sub = self.resubscribe();
                    for event in sub.replay {
                        let _ = self.tx.send(Delivery::To(client, Arc::new(event)));
                    }
                    return Next::Stay;
                }
                return Next::Switch(Some(id));
            }
            Op::Submit { text } if st.running => {
                st.queue.push_back(text);
                let n = st.queue.len();
                self.fan_out(
                    &mut st,
                    Event::Notice {
                        level: NoticeLevel::Info,
                        text: format!(
                            "queued ({who}): the prompt runs when the current turn ends \
                             ({n} waiting)"
                        ),
                    },
                );
            }
            Op::Approval { call_id, decision } => match st.approvals.get(&call_id) {
                Some(Some(by)) => {
                    let text = format!(
                        "tool call {call_id} was already answered by {by}; yours is ignored"
                    );
                    let _ = self.tx.send(Delivery::To(
                        client,
                        Arc::new(Event::Notice {
                            level: NoticeLevel::Warn,
                            text,
                        }),
                    ));
                }
                Some(None) => {
                    st.approvals.insert(call_id.clone(), Some(who.to_string()));
                    let _ = self.ops.send(tagged(Op::Approval {
                        call_id: call_id.clone(),
                        decision,
                    }));
                    let word = match decision {
                        llm_repl_protocol::ApprovalDecision::Deny => "denied",
                        _ => "approved",
                    };
                    self.fan_out(
                        &mut st,
                        Event::Notice {
                            level: NoticeLevel::Info,
                            text: format!("tool call {call_id} {word} by {who}"),
                        },
                    );
                }
                None => {
                    let _ = self.ops.send(tagged(Op::Approval { call_id, decision }));
                }
            },
            op => {
                let _ = self.ops.send(tagged(op));
            }
        }
        Next::Stay
    }

    /// Sends `event` to every client and keeps it for later ones.
    fn fan_out(&self, st: &mut State, event: Event) {
        keep(&mut st.log, event.clone());
        let _ = self.tx.send(Delivery::All(Arc::new(event)));
    }

    async fn pump(self: Arc<Hub>, mut events: mpsc::UnboundedReceiver<Event>) {
        while let Some(event) = events.recv().await {
            let mut st = self.state();
            match event {
                Event::Reply { request, body } => {
                    if let Some((client, local)) = st.replies.get(&request).copied() {
                        let event = Event::Reply {
                            request: local,
                            body,
                        };
                        let _ = self.tx.send(Delivery::To(client, Arc::new(event)));
                    }
                    continue;
                }
                Event::SessionStarted { ref info } | Event::SessionLoaded { ref info, .. } => {
                    st.info = Some(info.clone());
                    st.log.clear();
                    st.snapshot = Some(event.clone());
                    let _ = self.tx.send(Delivery::All(Arc::new(event)));
                    continue;
                }
                Event::ModelSwitched { ref info, .. } => st.info = Some(info.clone()),
                Event::TurnStarted { .. } => st.running = true,
                Event::ApprovalRequested { ref request } => {
                    st.approvals.insert(request.call.id.clone(), None);
                }
                Event::TurnFinished { .. } => {
                    let _ = self.tx.send(Delivery::All(Arc::new(event)));
                    st.running = false;
                    st.approvals.clear();
                    if let Some(snapshot) = self.stored_snapshot(&st) {
                        st.snapshot = Some(snapshot);
                        st.log.clear();
                    }
                    match st.queue.pop_front() {
                        Some(text) => {
                            let _ = self.ops.send(Op::Submit { text });
                        }
                        None => self.close_if_unused(&mut st),
                    }
                    continue;
                }
                Event::ShutdownComplete => {
                    st.done = true;
                    st.closing = true;
                    let _ = self.tx.send(Delivery::All(Arc::new(event)));
                    break;
                }
                _ => {}
            }
            self.fan_out(&mut st, event);
        }
        let mut st = self.state();
        st.done = true;
        st.closing = true;
    }

    /// The session as stored now, with the provider and model this agent runs on.
    fn stored_snapshot(&self, st: &State) -> Option<Event> {
        let store = self.store.as_ref()?;
        let current = st.info.as_ref()?;
        let loaded = store.load_session(&current.id).ok()?;
        let mut info = loaded.info();
        info.provider = current.provider.clone();
        info.model = current.model.clone();
        info.mock = current.mock;
        info.context_window = current.context_window;
        Some(Event::SessionLoaded {
            info,
            messages: loaded.plain_messages(),
            tool_runs: loaded.plain_tool_runs(),
        })
    }
}

/// Appends `event` to a replay log, merging a text or output piece into the one before it when
/// it continues it, so a long turn's replay is a few Events, not one per token or line.
fn keep(log: &mut Vec<Event>, event: Event) {
    match (log.last_mut(), event) {
        (
            Some(Event::TextDelta { turn, text }),
            Event::TextDelta {
                turn: t,
                text: more,
            },
        ) if *turn == t => {
            text.push_str(&more);
        }
        (
            Some(Event::ToolOutput {
                call_id,
                stream,
                chunk,
            }),
            Event::ToolOutput {
                call_id: c,
                stream: s,
                chunk: more,
            },
        ) if *call_id == c && *stream == s => chunk.push_str(&more),
        (_, event) => log.push(event),
    }
}

#[cfg(test)]
mod tests {
    use llm_repl_protocol::OutputStream;

    use super::*;

    #[test]
    fn the_replay_merges_pieces_that_continue_each_other() {
        let mut log = Vec::new();
        let out = |s: OutputStream, c: &str| Event::ToolOutput {
            call_id: "c1".into(),
            stream: s,
            chunk: c.into(),
        };
        for e in [
            Event::TextDelta {
                turn: 1,
                text: "a".into(),
            },
            Event::TextDelta {
                turn: 1,
                text: "b".into(),
            },
            out(OutputStream::Stdout, "x\n"),
            out(OutputStream::Stdout, "y\n"),
            out(OutputStream::Stderr, "!"),
            Event::TextDelta {
                turn: 1,
                text: "c".into(),
            },
        ] {
            keep(&mut log, e);
        }
        assert_eq!(
            log,
            vec![
                Event::TextDelta {
                    turn: 1,
                    text: "ab".into()
                },
                out(OutputStream::Stdout, "x\ny\n"),
                out(OutputStream::Stderr, "!"),
                Event::TextDelta {
                    turn: 1,
                    text: "c".into()
                },
            ]
        );
    }
}
