//! The SQL that decides what the candidate returns and in which order.
//!
//! The ordering clauses, the paging clause, the search match, the date range and the
//! writes' row lock are fragments of [`Queries`], so that a test can build a faulty variant
//! of the repository (a missing tie-break, an off-by-one page, a case-sensitive search, an
//! exclusive date bound, files out of index order, a write without its lock) without
//! touching the product path.

/// The fragments the queries are built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queries {
    /// Order of a conversation's messages (alias `m`): creation time, then posting order.
    pub messages_order: String,
    /// Order of a message's stored files (alias `f`).
    pub files_order: String,
    /// Paging of `messages_page`, with `$2` the offset and `$3` the limit.
    pub page: String,
    /// The search predicate on `m.text`, with `$1` a LIKE pattern (escape `\`).
    pub search_match: String,
    /// The predicate of `find_by_date_range` on `created_at`, with `$1` and `$2` the
    /// range's ends, both included.
    pub created_between: String,
    /// The statement every keyed write starts with, in its transaction: locks the
    /// conversation row `$1` (or finds none: `not_found`), so that writes of one
    /// conversation run one after the other.
    pub lock: String,
    /// Whether `attach` computes the next free index after taking the lock (it must: two
    /// attachments that compute it before the lock can get the same index).
    pub attach_index_locked: bool,
}

impl Default for Queries {
    fn default() -> Self {
        Queries {
            messages_order: "m.created_at, m.position".into(),
            files_order: "f.index".into(),
            page: "OFFSET $2 LIMIT $3".into(),
            search_match: r"m.text ILIKE $1 ESCAPE '\'".into(),
            created_between: "created_at BETWEEN $1 AND $2".into(),
            lock: "SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE".into(),
            attach_index_locked: true,
        }
    }
}

impl Queries {
    /// A message row `m` as its canonical JSON document.
    pub(crate) fn message_json(&self) -> String {
        format!(
            r#"json_build_object(
                'id', m.id, 'author_id', m.author_id, 'text', m.text,
                'created_at', iso_us(m.created_at), 'edited_at', iso_us(m.edited_at), 'deleted', m.deleted,
                'read_by', COALESCE((SELECT json_agg(r.participant_id ORDER BY r.position) FROM message_read_by r
                    WHERE r.conversation_id = m.conversation_id AND r.message_id = m.id), '[]'::json),
                'temp_attachments', COALESCE((SELECT json_agg(json_build_object('index', t.index, 'name', t.name, 'size', t.size) ORDER BY t.index)
                    FROM temp_attachment t WHERE t.conversation_id = m.conversation_id AND t.message_id = m.id), '[]'::json),
                'stored_files', COALESCE((SELECT json_agg(json_build_object('index', f.index, 'name', f.name, 'size', f.size, 'storage_key', f.storage_key) ORDER BY {files})
                    FROM stored_file f WHERE f.conversation_id = m.conversation_id AND f.message_id = m.id), '[]'::json)
            )"#,
            files = self.files_order
        )
    }

    /// Whole conversations for the ids in `$1`, in the order of `$1`, each once.
    pub fn documents(&self) -> String {
        format!(
            r#"SELECT json_build_object(
                'id', c.id, 'kind', c.kind,
                'relation', CASE WHEN c.kind = 'relation' THEN json_build_object('project_a', c.project_a, 'project_b', c.project_b) END,
                'subject', c.subject, 'created_at', iso_us(c.created_at), 'archived', c.archived,
                'participants', COALESCE((SELECT json_agg(json_build_object('identity_id', p.identity_id, 'name', p.name,
                        'role', cp.role, 'joined_at', iso_us(cp.joined_at)) ORDER BY cp.position)
                    FROM conversations_participants cp JOIN participant p ON p.identity_id = cp.participant_id
                    WHERE cp.conversation_id = c.id), '[]'::json),
                'messages', COALESCE((SELECT json_agg({message} ORDER BY {order})
                    FROM message m WHERE m.conversation_id = c.id), '[]'::json)
            )::text
            FROM conversation c
            WHERE c.id = ANY($1)
            ORDER BY array_position($1, c.id)"#,
            message = self.message_json(),
            order = self.messages_order
        )
    }

    /// One page of a conversation's messages (`$1` the conversation).
    pub fn messages_page(&self) -> String {
        format!(
            "SELECT {}::text FROM message m WHERE m.conversation_id = $1 ORDER BY {} {}",
            self.message_json(),
            self.messages_order,
            self.page
        )
    }

    /// The last message that is not deleted (`$1` the conversation).
    pub(crate) fn last_message(&self) -> String {
        format!(
            "SELECT doc FROM (SELECT {}::text AS doc, row_number() OVER (ORDER BY {}) AS n
                FROM message m WHERE m.conversation_id = $1 AND NOT m.deleted) ranked
             ORDER BY n DESC LIMIT 1",
            self.message_json(),
            self.messages_order
        )
    }

    /// One message by id (`$1` the conversation, `$2` the message).
    pub fn message(&self) -> String {
        format!(
            "SELECT {}::text FROM message m WHERE m.conversation_id = $1 AND m.id = $2",
            self.message_json()
        )
    }

    /// Every stored file of a conversation, by message order then index.
    pub fn stored_files(&self) -> String {
        format!(
            "SELECT json_build_object('message_id', f.message_id, 'index', f.index, 'name', f.name, 'size', f.size, 'storage_key', f.storage_key)::text
             FROM stored_file f JOIN message m ON m.conversation_id = f.conversation_id AND m.id = f.message_id
             WHERE f.conversation_id = $1 ORDER BY {}, {}",
            self.messages_order, self.files_order
        )
    }

    /// Every temporary attachment of a conversation, by message order then index.
    pub(crate) fn temp_attachments(&self) -> String {
        format!(
            "SELECT json_build_object('message_id', t.message_id, 'index', t.index, 'name', t.name, 'size', t.size)::text
             FROM temp_attachment t JOIN message m ON m.conversation_id = t.conversation_id AND m.id = t.message_id
             WHERE t.conversation_id = $1 ORDER BY {}, t.index",
            self.messages_order
        )
    }

    /// Search hits (`$1` the pattern, `$2` the limit), in the legacy order.
    pub fn search(&self) -> String {
        format!(
            r#"SELECT m.conversation_id, m.id FROM message m
               WHERE NOT m.deleted AND {}
               ORDER BY m.created_at, m.conversation_id COLLATE "C", m.position
               LIMIT $2"#,
            self.search_match
        )
    }
}

/// `%text%` for LIKE, with `%`, `_` and `\` taken literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
