//! The operations of the conversations repository: a closed enum with typed arguments,
//! parsed from a cassette request and validated once, before either store sees it.

use super::model::{parse_time, Conversation, ConversationKind, Relation};
use chrono::{DateTime, Utc};
use cutover::cassette::{Kind, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Arguments naming a participant identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The identity id the operation is about.
    pub identity_id: String,
}

/// Arguments of `add_participant`: an identity joining the conversation at the
/// command's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    /// The identity joining; `conflict` if it already takes part.
    pub identity_id: String,
    /// Display name, kept byte for byte.
    pub name: String,
    /// Role in the conversation (`member`, `admin`, `guest`, ...).
    pub role: String,
}

/// Arguments of `set_role`: a participant's new role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    /// The participant whose role changes; `not_found` if it does not take part.
    pub identity_id: String,
    /// The new role.
    pub role: String,
}

/// Arguments of `post_message`: a new message, created at the command's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    /// Id of the new message; `conflict` if the conversation already has it.
    pub message_id: String,
    /// The author; `invalid` if not a participant.
    pub author_id: String,
    /// The message's text.
    pub text: String,
}

/// Arguments of `edit_message`: a new text, with `edited_at` set to the command's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// The message to edit; `invalid` if it is deleted.
    pub message_id: String,
    /// The new text.
    pub text: String,
}

/// Arguments naming one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRef {
    /// The message's id in the conversation.
    pub message_id: String,
}

/// Arguments of `mark_read`: a read receipt, kept once per reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// The message read.
    pub message_id: String,
    /// The reader; `invalid` if not a participant.
    pub identity_id: String,
}

/// Arguments of `attach`: a temporary attachment to a live message, at its next free
/// index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// The message the file is attached to.
    pub message_id: String,
    /// File name.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
}

/// Arguments of `promote_attachment`: a temporary attachment moved to the
/// message's stored files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    /// The message holding the attachment.
    pub message_id: String,
    /// Index of the temporary attachment; `not_found` if there is none.
    pub index: u32,
    /// Where the file is now stored.
    pub storage_key: String,
}

/// Arguments of `rename`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// The new subject; null removes it.
    pub subject: Option<String>,
}

/// Arguments of `messages_page`: a window on the conversation's messages in posting
/// order, deleted ones included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// How many messages to skip, at most 2^63 - 1.
    pub offset: u64,
    /// At most this many messages, 1 to 1000.
    pub limit: u64,
}

/// Arguments of `find_by_ids`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ids {
    /// Conversation ids, in the order of the answer; unknown ids are left out.
    pub ids: Vec<String>,
}

/// Arguments of `find_by_date_range`: a span of conversation creation times, both
/// ends included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// The earliest creation time (RFC 3339).
    pub from: String,
    /// The latest creation time (RFC 3339).
    pub to: String,
}

/// Arguments of `conversations_of_project`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The project, on either side of a relation.
    pub project: String,
}

/// Arguments of `search_messages`: messages not deleted whose text contains `text`,
/// ignoring case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// The text to find; not blank.
    pub text: String,
    /// At most this many hits, 1 to 1000.
    pub limit: u64,
}

/// Arguments of `find_archived`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// At most this many conversation ids, 1 to 1000.
    pub limit: u64,
}

/// The arguments of an operation that takes none: an empty object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// A whole conversation to save: the typed document, and the document as sent (the
/// legacy store keeps it as it came, absent fields absent).
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversation {
    /// The conversation, typed and validated.
    pub conversation: Conversation,
    /// The `conversation` argument as sent.
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

/// Every operation, with its arguments: a write or a read, each a closed enum. Each
/// repository matches them exhaustively, without a wildcard arm, so an operation added
/// here does not compile until both repositories (and `name`, `keyless`, `list_order`)
/// handle it.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// A write of one conversation.
    Write(WriteOp),
    /// A read, of one conversation or across conversations.
    Read(ReadOp),
}

/// The writes, each keyed by its conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Saves a whole new conversation whose id is the key; `conflict` if it exists.
    CreateConversation(Box<NewConversation>),
    /// Adds a participant.
    AddParticipant(NewParticipant),
    /// Removes a participant; `not_found` if it does not take part.
    RemoveParticipant(Identity),
    /// Changes a participant's role.
    SetRole(SetRole),
    /// Posts a message.
    PostMessage(Post),
    /// Replaces a message's text.
    EditMessage(Edit),
    /// Deletes a message: its text becomes null and its temporary attachments are dropped;
    /// it keeps its place.
    DeleteMessage(MessageRef),
    /// Records that a participant read a message.
    MarkRead(MarkRead),
    /// Adds a participant's read receipt to every message unread by them; answers
    /// `{"marked": n}`.
    MarkAllRead(Identity),
    /// Adds a temporary attachment to a message.
    Attach(Attach),
    /// Moves a temporary attachment to the message's stored files.
    PromoteAttachment(Promote),
    /// Sets or clears the subject.
    Rename(Rename),
    /// Marks the conversation archived.
    Archive,
    /// Marks the conversation not archived.
    Unarchive,
    /// Deletes the conversation; `not_found` if it does not exist.
    DeleteConversation,
    /// Load, change in memory, save whole: the read-modify-write of [`super::change`].
    UpdateConversation(Update),
}

/// The arguments of `update_conversation`: the changes a service makes before one save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    /// Applied in order; the first that fails fails the whole update, and nothing is saved.
    pub changes: Vec<Change>,
}

/// One in-memory change, named and shaped as the targeted write it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Sets (or clears) the subject.
    Rename(Rename),
    /// A new participant, joining now (`conflict` if they already take part).
    AddParticipant(NewParticipant),
    /// A participant's new role (`not_found` if they do not take part).
    SetRole(SetRole),
    /// A new message, created now (`invalid` from a stranger, `conflict` for a used id).
    PostMessage(Post),
    /// A read receipt (`not_found` message, `invalid` reader), kept once per reader.
    MarkRead(MarkRead),
    /// A temporary attachment at the next free index of a live message.
    Attach(Attach),
}

/// The reads: of one conversation, then across conversations (keyless).
#[derive(Debug, Clone, PartialEq)]
pub enum ReadOp {
    /// The whole conversation.
    FindById,
    /// Whether the conversation exists.
    Exists,
    /// The participants.
    ListParticipants,
    /// The number of messages not deleted.
    CountMessages,
    /// A page of the messages.
    MessagesPage(Page),
    /// The latest message not deleted; `not_found` if there is none.
    LastMessage,
    /// One message, deleted or not.
    MessageById(MessageRef),
    /// For each participant, `{"identity_id", "unread"}`: how many messages are unread by
    /// them (not deleted, posted by someone else, without their read receipt).
    UnreadCounts,
    /// Whether a participant has a message unread; `invalid` if not a participant.
    HasUnread(Identity),
    /// The identity ids that read a message.
    ReadReceipts(MessageRef),
    /// Every stored file of the conversation, each with its `message_id`.
    StoredFiles,
    /// Every temporary attachment of the conversation, each with its `message_id`.
    TempAttachments,
    /// The conversations with the given ids, each once.
    FindByIds(Ids),
    /// The conversations created in a time range.
    FindByDateRange(DateRange),
    /// The conversations an identity takes part in.
    FindByParticipant(Identity),
    /// The relation conversation of two projects, given in either order; `not_found` if
    /// there is none.
    FindByRelation(Relation),
    /// The ids of the relation conversations a project is part of.
    ConversationsOfProject(Project),
    /// Matching messages, as `{"conversation_id", "message_id"}`.
    SearchMessages(Search),
    /// How many messages an identity has not read, across its conversations.
    UnreadTotal(Identity),
    /// The number of conversations.
    CountConversations,
    /// The ids of archived conversations.
    FindArchived(Limit),
}

impl Operation {
    /// The operation's name, as cassettes write it.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Write(w) => w.name(),
            Operation::Read(r) => r.name(),
        }
    }

    /// Whether the operation is a write or a read.
    pub fn kind(&self) -> Kind {
        match self {
            Operation::Write(_) => Kind::Write,
            Operation::Read(_) => Kind::Read,
        }
    }

    /// Whether the operation reads across conversations (its request has no key).
    pub fn keyless(&self) -> bool {
        match self {
            Operation::Write(_) => false,
            Operation::Read(r) => r.keyless(),
        }
    }
}

impl WriteOp {
    /// The write's name, as cassettes write it.
    pub fn name(&self) -> &'static str {
        match self {
            WriteOp::CreateConversation(_) => "create_conversation",
            WriteOp::AddParticipant(_) => "add_participant",
            WriteOp::RemoveParticipant(_) => "remove_participant",
            WriteOp::SetRole(_) => "set_role",
            WriteOp::PostMessage(_) => "post_message",
            WriteOp::EditMessage(_) => "edit_message",
            WriteOp::DeleteMessage(_) => "delete_message",
            WriteOp::MarkRead(_) => "mark_read",
            WriteOp::MarkAllRead(_) => "mark_all_read",
            WriteOp::Attach(_) => "attach",
            WriteOp::PromoteAttachment(_) => "promote_attachment",
            WriteOp::Rename(_) => "rename",
            WriteOp::Archive => "archive",
            WriteOp::Unarchive => "unarchive",
            WriteOp::DeleteConversation => "delete_conversation",
            WriteOp::UpdateConversation(_) => "update_conversation",
        }
    }
}

impl ReadOp {
    /// The read's name, as cassettes write it.
    pub fn name(&self) -> &'static str {
        match self {
            ReadOp::FindById => "find_by_id",
            ReadOp::Exists => "exists",
            ReadOp::ListParticipants => "list_participants",
            ReadOp::CountMessages => "count_messages",
            ReadOp::MessagesPage(_) => "messages_page",
            ReadOp::LastMessage => "last_message",
            ReadOp::MessageById(_) => "message_by_id",
            ReadOp::UnreadCounts => "unread_counts",
            ReadOp::HasUnread(_) => "has_unread",
            ReadOp::ReadReceipts(_) => "read_receipts",
            ReadOp::StoredFiles => "stored_files",
            ReadOp::TempAttachments => "temp_attachments",
            ReadOp::FindByIds(_) => "find_by_ids",
            ReadOp::FindByDateRange(_) => "find_by_date_range",
            ReadOp::FindByParticipant(_) => "find_by_participant",
            ReadOp::FindByRelation(_) => "find_by_relation",
            ReadOp::ConversationsOfProject(_) => "conversations_of_project",
            ReadOp::SearchMessages(_) => "search_messages",
            ReadOp::UnreadTotal(_) => "unread_total",
            ReadOp::CountConversations => "count_conversations",
            ReadOp::FindArchived(_) => "find_archived",
        }
    }

    /// Whether the read spans conversations (its request has no key).
    pub fn keyless(&self) -> bool {
        match self {
            ReadOp::FindById
            | ReadOp::Exists
            | ReadOp::ListParticipants
            | ReadOp::CountMessages
            | ReadOp::MessagesPage(_)
            | ReadOp::LastMessage
            | ReadOp::MessageById(_)
            | ReadOp::UnreadCounts
            | ReadOp::HasUnread(_)
            | ReadOp::ReadReceipts(_)
            | ReadOp::StoredFiles
            | ReadOp::TempAttachments => false,
            ReadOp::FindByIds(_)
            | ReadOp::FindByDateRange(_)
            | ReadOp::FindByParticipant(_)
            | ReadOp::FindByRelation(_)
            | ReadOp::ConversationsOfProject(_)
            | ReadOp::SearchMessages(_)
            | ReadOp::UnreadTotal(_)
            | ReadOp::CountConversations
            | ReadOp::FindArchived(_) => true,
        }
    }

    /// The declared order of the read's list.
    pub fn list_order(&self) -> ListOrder {
        match self {
            ReadOp::ListParticipants => ListOrder::Ordered("joining order"),
            ReadOp::MessagesPage(_) => ListOrder::Ordered("creation time, then posting order"),
            ReadOp::UnreadCounts => ListOrder::Ordered("participant joining order"),
            ReadOp::ReadReceipts(_) => ListOrder::Ordered("reading order"),
            ReadOp::StoredFiles | ReadOp::TempAttachments => {
                ListOrder::Ordered("message order, then index")
            }
            ReadOp::FindByIds(_) => ListOrder::Ordered("the order of the given ids"),
            ReadOp::FindByDateRange(_) => ListOrder::Ordered("creation time, then id"),
            ReadOp::FindByParticipant(_) => ListOrder::Ordered("creation time descending, then id"),
            ReadOp::ConversationsOfProject(_) | ReadOp::FindArchived(_) => ListOrder::Ordered("id"),
            ReadOp::SearchMessages(_) => {
                ListOrder::Ordered("message creation time, conversation id, posting order")
            }
            ReadOp::FindById
            | ReadOp::Exists
            | ReadOp::CountMessages
            | ReadOp::LastMessage
            | ReadOp::MessageById(_)
            | ReadOp::HasUnread(_)
            | ReadOp::FindByRelation(_)
            | ReadOp::UnreadTotal(_)
            | ReadOp::CountConversations => ListOrder::None,
        }
    }
}

/// The write operations' names (each parses to the write of that name: tested).
pub const WRITES: [&str; 16] = [
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
    "update_conversation",
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

/// A parsed, validated request.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The operation, with its arguments.
    pub op: Operation,
    /// The conversation id, for keyed operations.
    pub key: Option<String>,
    /// The recorded clock, at milliseconds.
    pub at: DateTime<Utc>,
    /// A delay slept between a write's load and its save, where the repository has one
    /// (the race check's injected delays); zero in a replay.
    pub pause: Duration,
}

impl Command {
    /// Sleeps the injected delay, if any: called by the repositories between a load and the
    /// write that depends on it.
    pub async fn pause(&self) {
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
    }

    /// The conversation id of a keyed command.
    pub fn id(&self) -> &str {
        self.key.as_deref().unwrap_or_default()
    }
}

fn args<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("bad args: {e}"))
}

/// A request the domain refuses before either store sees it: what is wrong with its
/// arguments (answered `invalid` by both repositories alike).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(what: String) -> Invalid {
        Invalid(what)
    }
}

impl From<Invalid> for String {
    fn from(e: Invalid) -> String {
        e.0
    }
}

/// Parses and validates a request; the error is an `invalid` outcome's message.
pub fn parse(request: &Request) -> Result<Command, Invalid> {
    parse_text(request).map_err(Invalid)
}

fn parse_text(request: &Request) -> Result<Command, String> {
    let a = &request.args;
    let op = match (parse_write(&request.op, a)?, parse_read(&request.op, a)?) {
        (Some(w), _) => Operation::Write(w),
        (None, Some(r)) => Operation::Read(r),
        (None, None) => return Err(format!("unknown operation `{}`", request.op)),
    };
    let keyless = op.keyless();
    match (&request.key, keyless) {
        (None, false) => return Err(format!("{} needs a conversation key", request.op)),
        (Some(_), true) => return Err(format!("{} takes no key", request.op)),
        _ => {}
    }
    let expected = op.kind();
    if request.kind != expected {
        return Err(format!(
            "{} is a {expected:?}, not a {:?}",
            request.op, request.kind
        ));
    }
    if let Operation::Write(WriteOp::CreateConversation(new)) = &op {
        if request.key.as_deref() != Some(new.conversation.id.as_str()) {
            return Err("the key is not the conversation's id".into());
        }
    }
    Ok(Command {
        op,
        key: request.key.clone(),
        at: parse_time(&request.at)?,
        pause: Duration::ZERO,
    })
}

/// The write named `name` with its arguments; `None` if no write has that name.
fn parse_write(name: &str, a: &Value) -> Result<Option<WriteOp>, String> {
    Ok(Some(match name {
        "create_conversation" => WriteOp::CreateConversation(Box::new(new_conversation(a)?)),
        "add_participant" => WriteOp::AddParticipant(args(a)?),
        "remove_participant" => WriteOp::RemoveParticipant(args(a)?),
        "set_role" => WriteOp::SetRole(args(a)?),
        "post_message" => WriteOp::PostMessage(args(a)?),
        "edit_message" => WriteOp::EditMessage(args(a)?),
        "delete_message" => WriteOp::DeleteMessage(args(a)?),
        "mark_read" => WriteOp::MarkRead(args(a)?),
        "mark_all_read" => WriteOp::MarkAllRead(args(a)?),
        "attach" => WriteOp::Attach(args(a)?),
        "promote_attachment" => WriteOp::PromoteAttachment(args(a)?),
        "rename" => WriteOp::Rename(args(a)?),
        "archive" => no_args(a, WriteOp::Archive)?,
        "unarchive" => no_args(a, WriteOp::Unarchive)?,
        "delete_conversation" => no_args(a, WriteOp::DeleteConversation)?,
        "update_conversation" => WriteOp::UpdateConversation(args(a)?),
        _ => return Ok(None),
    }))
}

/// The read named `name` with its arguments; `None` if no read has that name.
fn parse_read(name: &str, a: &Value) -> Result<Option<ReadOp>, String> {
    Ok(Some(match name {
        "find_by_id" => no_args(a, ReadOp::FindById)?,
        "exists" => no_args(a, ReadOp::Exists)?,
        "list_participants" => no_args(a, ReadOp::ListParticipants)?,
        "count_messages" => no_args(a, ReadOp::CountMessages)?,
        "messages_page" => {
            let page = limit_checked(args::<Page>(a)?, |p| p.limit)?;
            // Both stores count in signed 64 bits: a larger offset is no position at all.
            if i64::try_from(page.offset).is_err() {
                return Err(format!("offset {} is past any conversation", page.offset));
            }
            ReadOp::MessagesPage(page)
        }
        "last_message" => no_args(a, ReadOp::LastMessage)?,
        "message_by_id" => ReadOp::MessageById(args(a)?),
        "unread_counts" => no_args(a, ReadOp::UnreadCounts)?,
        "has_unread" => ReadOp::HasUnread(args(a)?),
        "read_receipts" => ReadOp::ReadReceipts(args(a)?),
        "stored_files" => no_args(a, ReadOp::StoredFiles)?,
        "temp_attachments" => no_args(a, ReadOp::TempAttachments)?,
        "find_by_ids" => ReadOp::FindByIds(args(a)?),
        "find_by_date_range" => {
            let range: DateRange = args(a)?;
            parse_time(&range.from)?;
            parse_time(&range.to)?;
            ReadOp::FindByDateRange(range)
        }
        "find_by_participant" => ReadOp::FindByParticipant(args(a)?),
        "find_by_relation" => ReadOp::FindByRelation(args(a)?),
        "conversations_of_project" => ReadOp::ConversationsOfProject(args(a)?),
        "search_messages" => {
            let search = limit_checked(args::<Search>(a)?, |s| s.limit)?;
            if search.text.trim().is_empty() {
                return Err("search text is empty".into());
            }
            ReadOp::SearchMessages(search)
        }
        "unread_total" => ReadOp::UnreadTotal(args(a)?),
        "count_conversations" => no_args(a, ReadOp::CountConversations)?,
        "find_archived" => ReadOp::FindArchived(limit_checked(args::<Limit>(a)?, |l| l.limit)?),
        _ => return Ok(None),
    }))
}

fn no_args<T>(value: &Value, op: T) -> Result<T, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listed name parses to the operation of that name, of that kind: the lists, the
    /// parser and `name` agree.
    #[test]
    fn every_listed_name_is_the_operation_of_that_name() {
        for (names, kind) in [(&WRITES[..], Kind::Write), (&READS[..], Kind::Read)] {
            for name in names {
                let unknown = format!("unknown operation `{name}`");
                let parsed = match kind {
                    Kind::Write => parse_write(name, &Value::Null).map(|o| o.map(|w| w.name())),
                    Kind::Read => parse_read(name, &Value::Null).map(|o| o.map(|r| r.name())),
                };
                match parsed {
                    Ok(Some(parsed)) => assert_eq!(parsed, *name),
                    Ok(None) => panic!("{unknown}"),
                    // Arguments were refused: the name is known.
                    Err(e) => assert!(!e.contains("unknown"), "{name}: {e}"),
                }
            }
        }
    }

    /// An offset beyond what either store counts is `invalid` on both, never a wrapped
    /// position on one and an internal error on the other.
    #[test]
    fn an_offset_past_signed_64_bits_is_invalid() {
        let page = |offset: u64| {
            serde_json::from_value::<Request>(serde_json::json!({
                "seq": 1, "key": "c1", "op": "messages_page", "kind": "read",
                "args": {"offset": offset, "limit": 10}, "at": "2024-01-01T00:00:00Z"
            }))
            .unwrap()
        };
        assert!(parse(&page(i64::MAX as u64)).is_ok());
        let refused = parse(&page(i64::MAX as u64 + 1)).unwrap_err();
        assert!(refused.0.contains("past any conversation"), "{refused}");
        assert!(parse(&page(u64::MAX)).is_err());
    }
}
