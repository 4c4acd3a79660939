//! The operations of the conversations repository: a closed enum with typed arguments,
//! parsed from a cassette request and validated once, before either store sees it.

use super::model::{parse_time, Conversation, ConversationKind, Relation};
use crate::cassette::{Kind, Request};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Arguments naming a participant identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub identity_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    pub identity_id: String,
    pub name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub identity_id: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    pub message_id: String,
    pub author_id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub message_id: String,
    pub text: String,
}

/// Arguments naming one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRef {
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    pub message_id: String,
    pub identity_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    pub message_id: String,
    pub name: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    pub message_id: String,
    pub index: u32,
    pub storage_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ids {
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    pub project: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    pub text: String,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// A whole conversation to save: the typed document, and the document as sent (the
/// legacy store keeps it as it came, absent fields absent).
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    pub conversation: Conversation,
    pub raw: Value,
}

/// How a read's list is ordered, declared per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// Not a list.
    None,
    /// In an order both repositories must reproduce exactly (named in the doc).
    Ordered(&'static str),
}

/// Every operation, with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    // Writes, keyed by the conversation.
    CreateConversation(Box<NewConversation>),
    AddParticipant(NewParticipant),
    RemoveParticipant(Identity),
    SetRole(SetRole),
    PostMessage(Post),
    EditMessage(Edit),
    DeleteMessage(MessageRef),
    MarkRead(MarkRead),
    MarkAllRead(Identity),
    Attach(Attach),
    PromoteAttachment(Promote),
    Rename(Rename),
    Archive,
    Unarchive,
    DeleteConversation,
    // Reads of one conversation.
    FindById,
    Exists,
    ListParticipants,
    CountMessages,
    MessagesPage(Page),
    LastMessage,
    MessageById(MessageRef),
    UnreadCounts,
    HasUnread(Identity),
    ReadReceipts(MessageRef),
    StoredFiles,
    TempAttachments,
    // Reads across conversations (keyless).
    FindByIds(Ids),
    FindByDateRange(DateRange),
    FindByParticipant(Identity),
    FindByRelation(Relation),
    ConversationsOfProject(Project),
    SearchMessages(Search),
    UnreadTotal(Identity),
    CountConversations,
    FindArchived(Limit),
}

/// The write operations' names.
pub const WRITES: [&str; 15] = [
    "create_conversation",
    "add_participant",
    "remove_participant",
    "set_role",
    "post_message",
    "edit_message",
    "delete_message",
    "mark_read",
    "mark_all_read",
    "attach",
    "promote_attachment",
    "rename",
    "archive",
    "unarchive",
    "delete_conversation",
];

/// The read operations' names: first those of one conversation, then the keyless ones.
pub const READS: [&str; 21] = [
    "find_by_id",
    "exists",
    "list_participants",
    "count_messages",
    "messages_page",
    "last_message",
    "message_by_id",
    "unread_counts",
    "has_unread",
    "read_receipts",
    "stored_files",
    "temp_attachments",
    "find_by_ids",
    "find_by_date_range",
    "find_by_participant",
    "find_by_relation",
    "conversations_of_project",
    "search_messages",
    "unread_total",
    "count_conversations",
    "find_archived",
];

/// Keyless reads: those from `find_by_ids` on.
pub fn is_keyless(op: &str) -> bool {
    READS.iter().position(|r| *r == op).is_some_and(|i| i >= 12)
}

/// The declared order of each read's list.
pub fn list_order(op: &str) -> ListOrder {
    match op {
        "list_participants" => ListOrder::Ordered("joining order"),
        "messages_page" => ListOrder::Ordered("creation time, then posting order"),
        "unread_counts" => ListOrder::Ordered("participant joining order"),
        "read_receipts" => ListOrder::Ordered("reading order"),
        "stored_files" | "temp_attachments" => ListOrder::Ordered("message order, then index"),
        "find_by_ids" => ListOrder::Ordered("the order of the given ids"),
        "find_by_date_range" => ListOrder::Ordered("creation time, then id"),
        "find_by_participant" => ListOrder::Ordered("creation time descending, then id"),
        "conversations_of_project" | "find_archived" => ListOrder::Ordered("id"),
        "search_messages" => {
            ListOrder::Ordered("message creation time, conversation id, posting order")
        }
        _ => ListOrder::None,
    }
}

/// A parsed, validated request.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub op: Operation,
    /// The conversation id, for keyed operations.
    pub key: Option<String>,
    /// The recorded clock, at milliseconds.
    pub at: DateTime<Utc>,
}

impl Command {
    /// The conversation id of a keyed command.
    pub fn id(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }
}

fn args<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("bad args: {e}"))
}

/// Parses and validates a request; the error is an `invalid` outcome's message.
pub fn parse(request: &Request) -> Result<Command, String> {
    let a = &request.args;
    let op = match request.op.as_str() {
        "create_conversation" => Operation::CreateConversation(Box::new(new_conversation(a)?)),
        "add_participant" => Operation::AddParticipant(args(a)?),
        "remove_participant" => Operation::RemoveParticipant(args(a)?),
        "set_role" => Operation::SetRole(args(a)?),
        "post_message" => Operation::PostMessage(args(a)?),
        "edit_message" => Operation::EditMessage(args(a)?),
        "delete_message" => Operation::DeleteMessage(args(a)?),
        "mark_read" => Operation::MarkRead(args(a)?),
        "mark_all_read" => Operation::MarkAllRead(args(a)?),
        "attach" => Operation::Attach(args(a)?),
        "promote_attachment" => Operation::PromoteAttachment(args(a)?),
        "rename" => Operation::Rename(args(a)?),
        "archive" => no_args(a, Operation::Archive)?,
        "unarchive" => no_args(a, Operation::Unarchive)?,
        "delete_conversation" => no_args(a, Operation::DeleteConversation)?,
        "find_by_id" => no_args(a, Operation::FindById)?,
        "exists" => no_args(a, Operation::Exists)?,
        "list_participants" => no_args(a, Operation::ListParticipants)?,
        "count_messages" => no_args(a, Operation::CountMessages)?,
        "messages_page" => Operation::MessagesPage(limit_checked(args::<Page>(a)?, |p| p.limit)?),
        "last_message" => no_args(a, Operation::LastMessage)?,
        "message_by_id" => Operation::MessageById(args(a)?),
        "unread_counts" => no_args(a, Operation::UnreadCounts)?,
        "has_unread" => Operation::HasUnread(args(a)?),
        "read_receipts" => Operation::ReadReceipts(args(a)?),
        "stored_files" => no_args(a, Operation::StoredFiles)?,
        "temp_attachments" => no_args(a, Operation::TempAttachments)?,
        "find_by_ids" => Operation::FindByIds(args(a)?),
        "find_by_date_range" => {
            let range: DateRange = args(a)?;
            parse_time(&range.from)?;
            parse_time(&range.to)?;
            Operation::FindByDateRange(range)
        }
        "find_by_participant" => Operation::FindByParticipant(args(a)?),
        "find_by_relation" => Operation::FindByRelation(args(a)?),
        "conversations_of_project" => Operation::ConversationsOfProject(args(a)?),
        "search_messages" => {
            let search = limit_checked(args::<Search>(a)?, |s| s.limit)?;
            if search.text.trim().is_empty() {
                return Err("search text is empty".into());
            }
            Operation::SearchMessages(search)
        }
        "unread_total" => Operation::UnreadTotal(args(a)?),
        "count_conversations" => no_args(a, Operation::CountConversations)?,
        "find_archived" => Operation::FindArchived(limit_checked(args::<Limit>(a)?, |l| l.limit)?),
        other => return Err(format!("unknown operation `{other}`")),
    };
    let keyless = is_keyless(&request.op);
    match (&request.key, keyless) {
        (None, false) => return Err(format!("{} needs a conversation key", request.op)),
        (Some(_), true) => return Err(format!("{} takes no key", request.op)),
        _ => {}
    }
    let expected = if WRITES.contains(&request.op.as_str()) {
        Kind::Write
    } else {
        Kind::Read
    };
    if request.kind != expected {
        return Err(format!(
            "{} is a {expected:?}, not a {:?}",
            request.op, request.kind
        ));
    }
    if let Operation::CreateConversation(new) = &op {
        if request.key.as_deref() != Some(new.conversation.id.as_str()) {
            return Err("the key is not the conversation's id".into());
        }
    }
    Ok(Command {
        op,
        key: request.key.clone(),
        at: parse_time(&request.at)?,
    })
}

fn no_args(value: &Value, op: Operation) -> Result<Operation, String> {
    args::<NoArgs>(value).map(|_| op)
}

fn limit_checked<T>(value: T, limit: impl Fn(&T) -> u64) -> Result<T, String> {
    match limit(&value) {
        1..=1000 => Ok(value),
        n => Err(format!("limit {n} is not between 1 and 1000")),
    }
}

fn new_conversation(value: &Value) -> Result<NewConversation, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Args {
        conversation: Value,
    }
    let raw = args::<Args>(value)?.conversation;
    let mut conversation: Conversation =
        serde_json::from_value(raw.clone()).map_err(|e| format!("bad conversation: {e}"))?;
    match (conversation.kind, &mut conversation.relation) {
        (ConversationKind::Relation, None) => {
            return Err("a relation conversation needs a relation".into())
        }
        (ConversationKind::Group, Some(_)) => {
            return Err("a group conversation has no relation".into())
        }
        (ConversationKind::Relation, Some(r)) if r.project_a == r.project_b => {
            return Err("a relation joins two different projects".into())
        }
        (ConversationKind::Relation, Some(r)) if r.project_a > r.project_b => {
            return Err("a relation lists its projects in order".into())
        }
        _ => {}
    }
    parse_time(&conversation.created_at)?;
    let mut seen = std::collections::HashSet::new();
    for p in &conversation.participants {
        parse_time(&p.joined_at)?;
        if !seen.insert(p.identity_id.as_str()) {
            return Err(format!("participant {} is listed twice", p.identity_id));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for m in &conversation.messages {
        parse_time(&m.created_at)?;
        if let Some(edited) = &m.edited_at {
            parse_time(edited)?;
        }
        if !seen.insert(m.id.as_str()) {
            return Err(format!("message {} is listed twice", m.id));
        }
        let mut readers = std::collections::HashSet::new();
        if let Some(r) = m.read_by.iter().find(|r| !readers.insert(r.as_str())) {
            return Err(format!("message {} is read by {r} twice", m.id));
        }
        let mut indexes = std::collections::HashSet::new();
        let all = m
            .temp_attachments
            .iter()
            .map(|a| a.index)
            .chain(m.stored_files.iter().map(|f| f.index));
        for index in all {
            if !indexes.insert(index) {
                return Err(format!(
                    "message {} has two attachments at index {index}",
                    m.id
                ));
            }
        }
    }
    Ok(NewConversation { conversation, raw })
}
