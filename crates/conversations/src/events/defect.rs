//! Planted publication bugs of the PostgreSQL repository (spec option
//! `events_defect=NAME`): a demonstration of what comparing the events catches. Each is a
//! bug a real service makes; none changes an answer or the stored state.

use super::super::ops::WriteOp;
use cutover::cassette::Event;
use std::time::Duration;

/// A planted publication bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defect {
    /// `in-transaction`: every write publishes its events inside its transaction, before
    /// `COMMIT` (an event service that is not transaction-aware). A handler reacting at
    /// once reads the conversation without the write. The service's remaining work between
    /// the publication and the commit is modelled by a pause of [`Defect::REMAINING_WORK`].
    InTransaction,
    /// `forget`: `post_message` forgets its `message_posted` event.
    Forget,
    /// `swap`: `update_conversation` publishes its changes' events last first (collected on
    /// a stack), so an update of two changes publishes them swapped.
    Swap,
    /// `rename`: `participant_added` carries the identity as `participant_id`, the new
    /// schema's column name, instead of `identity_id`.
    Rename,
}

impl Defect {
    /// The defects' names, as the spec option writes them.
    pub const NAMES: [&'static str; 4] = ["in-transaction", "forget", "swap", "rename"];

    /// What the `in-transaction` defect's write still does between its publication and its
    /// commit.
    pub const REMAINING_WORK: Duration = Duration::from_millis(5);

    /// The defect named `name`.
    pub fn parse(name: &str) -> Result<Defect, String> {
        Ok(match name {
            "in-transaction" => Defect::InTransaction,
            "forget" => Defect::Forget,
            "swap" => Defect::Swap,
            "rename" => Defect::Rename,
            other => {
                let names = Defect::NAMES.join(", ");
                return Err(format!(
                    "no events defect `{other}`; expected one of {names}"
                ));
            }
        })
    }

    /// Whether the write publishes before its commit.
    pub fn publishes_in_transaction(self) -> bool {
        self == Defect::InTransaction
    }

    /// The events `op` publishes with this defect, from those it should publish.
    pub fn distort(self, op: &WriteOp, mut events: Vec<Event>) -> Vec<Event> {
        match self {
            Defect::InTransaction => {}
            Defect::Forget if op.name() == "post_message" => {
                events.retain(|e| e.name != "message_posted")
            }
            Defect::Swap if op.name() == "update_conversation" => events.reverse(),
            Defect::Rename => events
                .iter_mut()
                .filter(|e| e.name == "participant_added")
                .filter_map(|e| e.payload.as_object_mut())
                .for_each(|payload| {
                    if let Some(identity) = payload.remove("identity_id") {
                        payload.insert("participant_id".into(), identity);
                    }
                }),
            Defect::Forget | Defect::Swap => {}
        }
        events
    }
}
