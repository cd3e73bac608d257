//! The one transaction that appends messages: message records, their index segment, the
//! index counters and the session record (count, updated time, updated-time index) change
//! together or not at all. Shared by live appends, imports and migrations.

use llm_repl_protocol::Message;
use sled::transaction::TransactionalTree;

use crate::index::{IndexTx, NewDoc, TxResult, ab};
use crate::records::{self, MessageRecord, RECORD_VERSION};
use crate::sessions::{get_in, put_session};
use crate::{Trees, keys, text};

/// One message to append, its time, and its searchable text (computed outside the transaction,
/// whose closure sled may run more than once).
pub(crate) struct Item<'a> {
    pub message: &'a Message,
    pub at_ms: u64,
    pub text: String,
    /// Imports keep a superseded message superseded.
    pub superseded: bool,
}

impl<'a> Item<'a> {
    pub fn new(message: &'a Message, at_ms: u64) -> Self {
        Item {
            message,
            at_ms,
            text: text::message_text(message),
            superseded: false,
        }
    }
}

/// The trees [`append_tx`] expects, in its order.
pub(crate) fn append_trees(t: &Trees) -> [&sled::Tree; 7] {
    [
        &t.sessions,
        &t.by_updated,
        &t.messages,
        &t.seg,
        &t.segs,
        &t.docs,
        &t.meta,
    ]
}

/// Appends `items` to `session` inside a transaction over [`append_trees`]; returns their seqs.
pub(crate) fn append_tx(
    tx: &[TransactionalTree],
    session: &str,
    items: &[Item<'_>],
) -> TxResult<Vec<u64>> {
    let [s, u, m, seg, segs, docs, meta_t] = tx else {
        unreachable!("append_trees gives seven trees")
    };
    let old = get_in(s, session)?;
    let mut rec = old.clone();
    let ix = IndexTx {
        seg,
        segs,
        docs,
        meta: meta_t,
    };
    let mut new_docs = Vec::with_capacity(items.len());
    let mut seqs = Vec::with_capacity(items.len());
    for it in items {
        let seq = rec.messages;
        let docid = m.generate_id()?;
        let mr = MessageRecord {
            v: RECORD_VERSION,
            seq,
            at_ms: it.at_ms,
            docid,
            message: it.message.clone(),
            superseded: it.superseded,
        };
        m.insert(
            keys::sess_u64(session, seq),
            ab(records::encode("messages", &mr))?,
        )?;
        new_docs.push(NewDoc {
            docid,
            session,
            seq,
            text: &it.text,
            at_ms: it.at_ms,
        });
        rec.messages += 1;
        rec.updated_ms = rec.updated_ms.max(it.at_ms);
        seqs.push(seq);
    }
    ix.write_segment(&new_docs)?;
    put_session(s, u, Some(&old), &rec)?;
    Ok(seqs)
}
