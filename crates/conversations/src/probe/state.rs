//! A slim model of the conversations store: what the probes need to know of each key at
//! the end of the recording (does it exist, when was it created, who takes part, which
//! messages and attachment indexes it holds), without texts. The recorded writes are
//! applied with the legacy's checks; a write the legacy refuses (or that the cassette
//! recorded as an error) changes nothing.

use crate::model::{parse_time, Conversation};
use crate::ops::{Change, WriteOp};
use std::collections::{BTreeMap, BTreeSet};

/// One conversation, slimmed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Conv {
    /// Creation time, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Identity ids, in joining order.
    pub participants: Vec<String>,
    /// In posting order, deleted ones included.
    pub messages: Vec<Msg>,
}

/// One message, slimmed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Msg {
    pub id: String,
    pub deleted: bool,
    /// Indexes of the temporary attachments.
    pub temp: Vec<u32>,
    /// Indexes of the stored files.
    pub stored: Vec<u32>,
}

impl Msg {
    /// One past the highest index in use, as `Message::next_index`.
    pub fn next_index(&self) -> u32 {
        self.temp
            .iter()
            .chain(&self.stored)
            .max()
            .map_or(0, |i| i + 1)
    }
}

impl Conv {
    fn of(c: &Conversation) -> Option<Conv> {
        Some(Conv {
            created_at: parse_time(&c.created_at).ok()?.timestamp_millis(),
            participants: c
                .participants
                .iter()
                .map(|p| p.identity_id.clone())
                .collect(),
            messages: c
                .messages
                .iter()
                .map(|m| Msg {
                    id: m.id.clone(),
                    deleted: m.deleted,
                    temp: m.temp_attachments.iter().map(|a| a.index).collect(),
                    stored: m.stored_files.iter().map(|f| f.index).collect(),
                })
                .collect(),
        })
    }

    /// Whether `identity` takes part.
    pub fn takes_part(&self, identity: &str) -> bool {
        self.participants.iter().any(|p| p == identity)
    }

    /// The message `id`, deleted or not.
    pub fn message(&self, id: &str) -> Option<&Msg> {
        self.messages.iter().find(|m| m.id == id)
    }

    fn message_mut(&mut self, id: &str) -> Option<&mut Msg> {
        self.messages.iter_mut().find(|m| m.id == id)
    }

    fn live_message_mut(&mut self, id: &str) -> Option<&mut Msg> {
        self.message_mut(id).filter(|m| !m.deleted)
    }

    /// One change of `update_conversation`; false where the legacy refuses it.
    fn change(&mut self, change: &Change) -> bool {
        match change {
            Change::Rename(_) => true,
            Change::AddParticipant(p) => self.join(&p.identity_id),
            Change::SetRole(s) => self.takes_part(&s.identity_id),
            Change::PostMessage(m) => self.post(&m.author_id, &m.message_id),
            Change::MarkRead(r) => {
                self.message(&r.message_id).is_some() && self.takes_part(&r.identity_id)
            }
            Change::Attach(a) => self.attach(&a.message_id),
        }
    }

    fn join(&mut self, identity: &str) -> bool {
        let new = !self.takes_part(identity);
        if new {
            self.participants.push(identity.to_string());
        }
        new
    }

    fn post(&mut self, author: &str, id: &str) -> bool {
        let ok = self.takes_part(author) && self.message(id).is_none();
        if ok {
            self.messages.push(Msg {
                id: id.to_string(),
                deleted: false,
                temp: Vec::new(),
                stored: Vec::new(),
            });
        }
        ok
    }

    fn attach(&mut self, message: &str) -> bool {
        match self.live_message_mut(message) {
            Some(m) => {
                let index = m.next_index();
                m.temp.push(index);
                true
            }
            None => false,
        }
    }
}

/// Every conversation that exists, and the keys of those deleted since.
#[derive(Debug, Clone, Default)]
pub(super) struct Store {
    pub live: BTreeMap<String, Conv>,
    pub deleted: BTreeSet<String>,
}

impl Store {
    /// Applies the write `op` of conversation `key` as the legacy does.
    pub fn apply(&mut self, key: &str, op: &WriteOp) {
        if let WriteOp::CreateConversation(new) = op {
            if !self.live.contains_key(key) {
                if let Some(conv) = Conv::of(&new.conversation) {
                    self.live.insert(key.to_string(), conv);
                    self.deleted.remove(key);
                }
            }
            return;
        }
        if let WriteOp::DeleteConversation = op {
            if self.live.remove(key).is_some() {
                self.deleted.insert(key.to_string());
            }
            return;
        }
        let Some(conv) = self.live.get_mut(key) else {
            return;
        };
        match op {
            WriteOp::CreateConversation(_) | WriteOp::DeleteConversation => {}
            WriteOp::AddParticipant(p) => {
                conv.join(&p.identity_id);
            }
            WriteOp::RemoveParticipant(p) => conv.participants.retain(|x| *x != p.identity_id),
            WriteOp::PostMessage(m) => {
                conv.post(&m.author_id, &m.message_id);
            }
            WriteOp::DeleteMessage(d) => {
                if let Some(m) = conv.message_mut(&d.message_id) {
                    m.deleted = true;
                    m.temp.clear();
                }
            }
            WriteOp::Attach(a) => {
                conv.attach(&a.message_id);
            }
            WriteOp::PromoteAttachment(p) => {
                if let Some(m) = conv.live_message_mut(&p.message_id) {
                    if let Some(at) = m.temp.iter().position(|i| *i == p.index) {
                        m.temp.remove(at);
                        m.stored.push(p.index);
                    }
                }
            }
            WriteOp::UpdateConversation(u) => {
                // All or nothing, as the service saves the whole conversation once.
                let mut changed = conv.clone();
                if u.changes.iter().all(|c| changed.change(c)) {
                    *conv = changed;
                }
            }
            // Writes that change nothing the probes look at.
            WriteOp::SetRole(_)
            | WriteOp::EditMessage(_)
            | WriteOp::MarkRead(_)
            | WriteOp::MarkAllRead(_)
            | WriteOp::Rename(_)
            | WriteOp::Archive
            | WriteOp::Unarchive => {}
        }
    }
}
