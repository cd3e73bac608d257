//! Rewinds and forks of a conversation.
//!
//! A rewind (a retry of the last answer, an edit of the last prompt) never deletes: the dropped
//! messages stay in the store marked `superseded`, so exports and search still have them, while
//! [`LoadedSession::plain_messages`] (what a resume feeds the model) leaves them out. A fork is a
//! new session holding a copy of its parent's live history up to a point, with `parent` naming
//! where it came from.

use llm_repl_protocol::{ForkParent, Message, Role, SessionInfo, ToolRun};

use crate::error::Result;
use crate::messages::LoadedSession;
use crate::records::{self, MessageRecord, RECORD_VERSION, SessionRecord};
use crate::{Store, keys};

impl LoadedSession {
    /// Call ids of tool calls that only superseded messages made: their runs are not part of the
    /// conversation any more. (A call id the live history also has is kept: a regenerated
    /// answer may reuse an id, and the run stored under it is the new one.)
    pub(crate) fn superseded_calls(&self) -> std::collections::HashSet<&str> {
        let live: std::collections::HashSet<&str> = self
            .messages
            .iter()
            .filter(|m| !m.superseded)
            .flat_map(|m| m.message.tool_calls.iter().map(|c| c.id.as_str()))
            .collect();
        self.messages
            .iter()
            .filter(|m| m.superseded)
            .flat_map(|m| m.message.tool_calls.iter().map(|c| c.id.as_str()))
            .filter(|id| !live.contains(id))
            .collect()
    }
}

impl Store {
    /// Rewinds `session` to before its last live user message: that prompt and every live
    /// message after it are marked superseded, in one transaction flushed before returning.
    /// Returns how many were marked (0 when the session has no live prompt).
    pub fn supersede_last_prompt(&self, session: &str) -> Result<u64> {
        self.writable()?;
        let t = self.t();
        let mut live: Vec<MessageRecord> = Vec::new();
        for v in t.messages.scan_prefix(keys::sess_prefix(session)).values() {
            let rec: MessageRecord = records::decode("messages", &v?)?;
            if !rec.superseded {
                live.push(rec);
            }
        }
        let Some(from) = live.iter().rposition(|m| m.message.role == Role::User) else {
            return Ok(0);
        };
        let encoded: Vec<(Vec<u8>, Vec<u8>)> = live[from..]
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.superseded = true;
                r.v = RECORD_VERSION;
                Ok((
                    keys::sess_u64(session, r.seq),
                    records::encode("messages", &r)?,
                ))
            })
            .collect::<Result<_>>()?;
        t.messages.transaction(|m| {
            for (k, v) in &encoded {
                m.insert(k.as_slice(), v.as_slice())?;
            }
            Ok(())
        })?;
        self.sync()?;
        Ok(encoded.len() as u64)
    }

    /// Creates session `info` (a new id) as a fork of `parent`, holding `messages` and the
    /// `tool_runs` of their calls. Flushed before returning.
    pub fn fork_session(
        &self,
        info: &SessionInfo,
        parent: ForkParent,
        messages: &[Message],
        tool_runs: &[ToolRun],
    ) -> Result<SessionRecord> {
        let now = crate::now_ms();
        let rec = SessionRecord::empty(info, now, Some(parent));
        self.insert_session(&rec)?;
        if !messages.is_empty() {
            self.append_messages_at(&info.id, messages, now)?;
        }
        for run in tool_runs {
            self.record_tool_run(&info.id, run)?;
        }
        self.sync()?;
        Ok(self.get_session(&info.id)?.unwrap_or(rec))
    }
}

#[cfg(test)]
mod tests {
    use llm_repl_protocol::{ToolCall, ToolResult, ToolStatus};

    use super::*;

    fn info(id: &str) -> SessionInfo {
        SessionInfo {
            id: id.into(),
            title: "t".into(),
            provider: "p".into(),
            model: "m".into(),
            mock: false,
            context_window: None,
        }
    }

    fn call(id: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: "python".into(),
            arguments: "{}".into(),
        }
    }

    fn run(id: &str) -> ToolRun {
        ToolRun {
            call: call(id),
            status: ToolStatus::Ok,
            duration_ms: 1,
            output: format!("out of {id}"),
            findings: vec![],
        }
    }

    #[test]
    fn superseded_messages_survive_a_reopen_but_leave_the_context() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.create_session(&info("s")).unwrap();
            let history = [
                Message::user("q"),
                Message::assistant("", vec![call("c1")]),
                Message::tool(&ToolResult {
                    call_id: "c1".into(),
                    content: "1".into(),
                    is_error: false,
                }),
                Message::assistant("first answer", vec![]),
            ];
            for m in &history {
                store.append_message("s", m).unwrap();
            }
            store.record_tool_run("s", &run("c1")).unwrap();
            assert_eq!(store.supersede_last_prompt("s").unwrap(), 4);
            // The retried turn stores its prompt again, then the new answer.
            store.append_message("s", &Message::user("q")).unwrap();
            store
                .append_message("s", &Message::assistant("second answer", vec![]))
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let l = store.load_session("s").unwrap();
        assert_eq!(l.messages.len(), 6, "nothing is deleted");
        assert_eq!(
            l.plain_messages(),
            vec![
                Message::user("q"),
                Message::assistant("second answer", vec![])
            ]
        );
        assert!(
            l.plain_tool_runs().is_empty(),
            "the dropped call's run is gone"
        );
        assert_eq!(l.messages.iter().filter(|m| m.superseded).count(), 4);
        // A session without a prompt has nothing to rewind.
        store.create_session(&info("empty")).unwrap();
        assert_eq!(store.supersede_last_prompt("empty").unwrap(), 0);
    }

    #[test]
    fn a_fork_is_a_new_session_that_names_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.create_session(&info("parent")).unwrap();
            store.append_message("parent", &Message::user("q")).unwrap();
            let msgs = [Message::user("q"), Message::assistant("", vec![call("c1")])];
            let parent = ForkParent {
                id: "parent".into(),
                title: "t".into(),
            };
            store
                .fork_session(&info("child"), parent, &msgs, &[run("c1")])
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let child = store.load_session("child").unwrap();
        assert_eq!(child.session.parent.as_ref().unwrap().id, "parent");
        assert_eq!(child.plain_messages().len(), 2);
        assert_eq!(child.plain_tool_runs(), vec![run("c1")]);
        let (list, total) = store.list_sessions(0, 10).unwrap();
        assert_eq!(total, 2);
        let forked = list.iter().find(|s| s.id == "child").unwrap();
        assert_eq!(forked.parent.as_ref().unwrap().title, "t");
        // The parent is untouched.
        assert_eq!(
            store.load_session("parent").unwrap().plain_messages().len(),
            1
        );
    }

    #[test]
    fn export_and_import_keep_superseded_messages_and_the_parent() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_session(&info("p")).unwrap();
        store.append_message("p", &Message::user("q")).unwrap();
        let parent = ForkParent {
            id: "p".into(),
            title: "t".into(),
        };
        let msgs = [Message::user("q"), Message::assistant("old", vec![])];
        store.fork_session(&info("f"), parent, &msgs, &[]).unwrap();
        store.supersede_last_prompt("f").unwrap();
        store
            .append_messages_at("f", &[Message::user("q2")], 5)
            .unwrap();
        let json = store.export_json("f").unwrap();
        let md = store.export_markdown("f").unwrap();
        assert_eq!(
            md.matches("superseded (dropped by a retry or an edit)")
                .count(),
            2
        );

        let other = tempfile::tempdir().unwrap();
        let copy = Store::open(other.path()).unwrap();
        copy.import_json(&json).unwrap();
        let l = copy.load_session("f").unwrap();
        assert_eq!(l.plain_messages(), vec![Message::user("q2")]);
        assert_eq!(l.messages.iter().filter(|m| m.superseded).count(), 2);
        assert_eq!(l.session.parent.unwrap().id, "p");
    }
}
