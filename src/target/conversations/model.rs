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
    pub id: String,
    pub kind: ConversationKind,
    /// The two projects of a relation conversation, sorted; null for a group.
    #[serde(default)]
    pub relation: Option<Relation>,
    #[serde(default)]
    pub subject: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub archived: bool,
    /// In joining order.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// In posting order (creation time, then insertion).
    #[serde(default)]
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationKind {
    /// Any set of participants.
    Group,
    /// The one conversation between two projects.
    Relation,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationKind::Group => "group",
            ConversationKind::Relation => "relation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    pub project_a: String,
    pub project_b: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    pub identity_id: String,
    pub name: String,
    pub role: String,
    pub joined_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub author_id: String,
    /// Null once the message is deleted.
    #[serde(default)]
    pub text: Option<String>,
    pub created_at: String,
    #[serde(default)]
    pub edited_at: Option<String>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub index: u32,
    pub name: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    pub index: u32,
    pub name: String,
    pub size: u64,
    pub storage_key: String,
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
