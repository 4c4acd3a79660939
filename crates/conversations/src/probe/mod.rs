//! Probes of the conversations domain. The recorded requests are parsed with the domain's
//! own parser ([`ops::parse`]); writes move a slim model of the store ([`state`]), reads
//! leave samples of their arguments. At the end, [`reads`] derives the reads and
//! [`writes`] the error-path writes (see `docs/src/probes.md` for the list and the bounds).

mod reads;
mod state;
mod writes;

#[cfg(test)]
mod tests;

use crate::ops::{self, Operation, ReadOp, WriteOp};
use cutover::cassette::{Kind, Outcome, Request};
use cutover::probe::pick::{fresh, lowest, Sample};
use cutover::probe::{Probe, Prober};
use serde_json::Value;
use state::Store;
use std::collections::BTreeSet;

/// Recorded reads of one kind sampled for probes.
const SAMPLED: usize = 3;

/// Keys that get the keyed probes (pages, error-path writes, absent messages).
const KEYS: usize = 3;

/// What the recorded traffic showed.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    store: Store,
    /// Every conversation key seen, so that an absent id is never one of them.
    keys: BTreeSet<String>,
    /// Every identity id seen (participants, authors, readers, searched).
    identities: BTreeSet<String>,
    /// Every project seen (relations, relation searches).
    projects: BTreeSet<String>,
    /// Keys whose messages were paged.
    paged: BTreeSet<String>,
    ranges: Option<Sample<(String, String)>>,
    searches: Option<Sample<(String, u64)>>,
    /// One search with a letter outside ASCII, whose case a store may fold otherwise.
    unicode_search: Option<Sample<(String, u64)>>,
    id_lists: Option<Sample<Vec<String>>>,
    archived_read: bool,
}

fn sample<T>(slot: &mut Option<Sample<T>>, n: usize) -> &mut Sample<T> {
    slot.get_or_insert_with(|| Sample::new(n))
}

impl Prober for Observed {
    fn observe(&mut self, request: &Request) {
        self.take(request);
    }

    fn probes(self: Box<Self>) -> Vec<Probe> {
        self.derive()
    }
}

impl Observed {
    /// Takes in one recorded request.
    fn take(&mut self, request: &Request) {
        if let Some(key) = &request.key {
            self.keys.insert(key.clone());
        }
        // A request the domain refuses tells nothing; one the legacy refused changed nothing.
        let Ok(command) = ops::parse(request) else {
            return;
        };
        let refused = matches!(request.outcome, Some(Outcome::Error(_)));
        match &command.op {
            Operation::Write(op) => {
                self.identities_of(op);
                if !refused {
                    self.store.apply(command.id(), op);
                }
            }
            Operation::Read(op) => self.read(command.id(), op),
        }
    }

    fn identities_of(&mut self, op: &WriteOp) {
        let mut add = |id: &str| {
            self.identities.insert(id.to_string());
        };
        match op {
            WriteOp::CreateConversation(new) => {
                let c = &new.conversation;
                c.participants.iter().for_each(|p| add(&p.identity_id));
                if let Some(r) = &c.relation {
                    self.projects.insert(r.project_a.clone());
                    self.projects.insert(r.project_b.clone());
                }
            }
            WriteOp::AddParticipant(p) => add(&p.identity_id),
            WriteOp::RemoveParticipant(p) | WriteOp::MarkAllRead(p) => add(&p.identity_id),
            WriteOp::SetRole(p) => add(&p.identity_id),
            WriteOp::PostMessage(m) => add(&m.author_id),
            WriteOp::MarkRead(r) => add(&r.identity_id),
            WriteOp::EditMessage(_)
            | WriteOp::DeleteMessage(_)
            | WriteOp::Attach(_)
            | WriteOp::PromoteAttachment(_)
            | WriteOp::Rename(_)
            | WriteOp::Archive
            | WriteOp::Unarchive
            | WriteOp::DeleteConversation
            | WriteOp::UpdateConversation(_) => {}
        }
    }

    fn read(&mut self, key: &str, op: &ReadOp) {
        match op {
            ReadOp::MessagesPage(_) => {
                self.paged.insert(key.to_string());
            }
            ReadOp::FindByDateRange(r) => {
                let text = format!("{} {}", r.from, r.to);
                sample(&mut self.ranges, SAMPLED).offer(text, (r.from.clone(), r.to.clone()));
            }
            ReadOp::SearchMessages(s) => {
                // By text: the same text with another limit is the same probe.
                let item = (s.text.clone(), s.limit);
                if s.text.chars().any(|c| !c.is_ascii() && c.is_alphabetic()) {
                    sample(&mut self.unicode_search, 1).offer(s.text.clone(), item.clone());
                }
                sample(&mut self.searches, SAMPLED).offer(s.text.clone(), item);
            }
            ReadOp::FindByIds(ids) => {
                let text = Value::from(ids.ids.clone()).to_string();
                sample(&mut self.id_lists, 2).offer(text, ids.ids.clone());
            }
            ReadOp::FindArchived(_) => self.archived_read = true,
            ReadOp::FindByRelation(r) => {
                self.projects.insert(r.project_a.clone());
                self.projects.insert(r.project_b.clone());
            }
            ReadOp::ConversationsOfProject(p) => {
                self.projects.insert(p.project.clone());
            }
            ReadOp::HasUnread(p) | ReadOp::FindByParticipant(p) | ReadOp::UnreadTotal(p) => {
                self.identities.insert(p.identity_id.clone());
            }
            ReadOp::FindById
            | ReadOp::Exists
            | ReadOp::ListParticipants
            | ReadOp::CountMessages
            | ReadOp::LastMessage
            | ReadOp::MessageById(_)
            | ReadOp::UnreadCounts
            | ReadOp::ReadReceipts(_)
            | ReadOp::StoredFiles
            | ReadOp::TempAttachments
            | ReadOp::CountConversations => {}
        }
    }

    /// The probes: reads first, then the error-path writes.
    fn derive(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        reads::derive(self, &mut out);
        writes::derive(self, &mut out);
        out
    }

    /// The keys that get keyed probes: the [`KEYS`] existing conversations ranking lowest
    /// among those with participants and messages (then among the others).
    fn probe_keys(&self) -> Vec<&String> {
        let full = self
            .store
            .live
            .iter()
            .filter(|(_, c)| !c.participants.is_empty() && !c.messages.is_empty())
            .map(|(k, _)| k);
        let mut keys = lowest(full, KEYS);
        if keys.len() < KEYS {
            let rest = self
                .store
                .live
                .keys()
                .filter(|k| !keys.contains(k))
                .collect::<Vec<_>>();
            keys.extend(lowest(rest, KEYS - keys.len()));
        }
        keys
    }

    /// A conversation id no request named: `base`, or `base-2`, `base-3`, ...
    fn absent_key(&self, base: &str) -> String {
        fresh(base, |k| self.keys.contains(k))
    }
}

/// A keyless read.
fn keyless(op: &'static str, args: Value, why: &'static str) -> Probe {
    Probe {
        key: None,
        op: op.to_string(),
        kind: Kind::Read,
        args,
        why: why.to_string(),
    }
}
