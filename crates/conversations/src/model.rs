//! The conversations aggregate as both repositories return it: the canonical document.
//!
//! Timestamps are RFC 3339 strings in UTC at millisecond precision
//! (`2024-03-01T10:00:00.123Z`), the precision the legacy store keeps. Optional fields are
//! always present, `null` when unset, whether the stored document had them null or absent.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// One conversation with everything embedded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// The conversation's id, the key of its requests.
    pub id: String,
    /// Group or relation conversation.
    pub kind: ConversationKind,
    /// The two projects of a relation conversation, sorted; null for a group.
    #[serde(default)]
    pub relation: Option<Relation>,
    /// The conversation's title; null when it has none.
    #[serde(default)]
    pub subject: Option<String>,
    /// When the conversation was created (RFC 3339, UTC, milliseconds).
    pub created_at: String,
    /// Whether the conversation is archived; false when absent.
    #[serde(default)]
    pub archived: bool,
    /// In joining order.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// In posting order (creation time, then insertion).
    #[serde(default)]
    pub messages: Vec<Message>,
}

/// What a conversation is between, written `group` or `relation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationKind {
    /// Any set of participants.
    Group,
    /// The one conversation between two projects.
    Relation,
}

impl ConversationKind {
    /// The kind as documents write it: `group` or `relation`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Group => "group",
            ConversationKind::Relation => "relation",
        }
    }
}

/// The two projects a relation conversation joins; in a stored conversation they differ
/// and `project_a` sorts before `project_b`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    /// The first project, in sort order.
    pub project_a: String,
    /// The second project, in sort order.
    pub project_b: String,
}

/// A member of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// The participant's identity id, unique in the conversation.
    pub identity_id: String,
    /// Display name, kept byte for byte.
    pub name: String,
    /// Role in the conversation (`member`, `admin`, `guest`, ...).
    pub role: String,
    /// When the participant joined (RFC 3339, UTC, milliseconds).
    pub joined_at: String,
}

/// A message posted to a conversation, with its read receipts and attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id, unique in the conversation.
    pub id: String,
    /// Identity id of the participant who posted it.
    pub author_id: String,
    /// Null once the message is deleted.
    #[serde(default)]
    pub text: Option<String>,
    /// When the message was posted (RFC 3339, UTC, milliseconds).
    pub created_at: String,
    /// When the text was last edited (RFC 3339, UTC, milliseconds); null if never.
    #[serde(default)]
    pub edited_at: Option<String>,
    /// Whether the message is deleted; a deleted message keeps its place in the list.
    #[serde(default)]
    pub deleted: bool,
    /// Identity ids, in the order they read the message.
    #[serde(default)]
    pub read_by: Vec<String>,
    /// Uploaded but not yet stored, by index.
    #[serde(default)]
    pub temp_attachments: Vec<Attachment>,
    /// Promoted to storage, by index.
    #[serde(default)]
    pub stored_files: Vec<StoredFile>,
}

/// A file uploaded to a message and not yet promoted to storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// Position among the message's attachments, unique across its temporary and stored
    /// ones, and kept when the file is promoted.
    pub index: u32,
    /// File name.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
}

/// An attachment promoted to storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The index the attachment had while temporary.
    pub index: u32,
    /// File name.
    pub name: String,
    /// File size in bytes.
    pub size: u64,
    /// Where the file is stored (such as `s3://files/...`).
    pub storage_key: String,
}

impl Message {
    /// The next free attachment index: one past the highest among the temporary
    /// attachments and the stored files, 0 for none.
    pub fn next_index(&self) -> u32 {
        let used = self.temp_attachments.iter().map(|t| t.index);
        let all = used.chain(self.stored_files.iter().map(|f| f.index));
        all.max().map_or(0, |i| i + 1)
    }
}

/// Parses an RFC 3339 timestamp and keeps milliseconds, as the legacy store does.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp: {e}"))?
        .with_timezone(&Utc);
    DateTime::from_timestamp_millis(t.timestamp_millis())
        .ok_or_else(|| format!("`{text}` is out of range"))
}

/// The canonical text of a timestamp: UTC, milliseconds, `Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_kept_at_milliseconds_in_utc() {
        let t = parse_time("2024-03-01T11:00:00.123456+01:00").unwrap();
        assert_eq!(format_time(t), "2024-03-01T10:00:00.123Z");
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn absent_and_null_optional_fields_read_alike() {
        let absent: Conversation = serde_json::from_str(
            r#"{"id":"c","kind":"group","created_at":"2024-01-01T00:00:00.000Z"}"#,
        )
        .unwrap();
        let null: Conversation = serde_json::from_str(
            r#"{"id":"c","kind":"group","subject":null,"relation":null,"created_at":"2024-01-01T00:00:00.000Z"}"#,
        )
        .unwrap();
        assert_eq!(absent, null);
        assert_eq!(
            serde_json::to_value(&absent).unwrap()["subject"],
            serde_json::Value::Null
        );
    }
}
