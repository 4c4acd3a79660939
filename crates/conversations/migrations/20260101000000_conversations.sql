-- The conversations aggregate, normalized.

CREATE TABLE conversation (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('group', 'relation')),
    project_a   text,
    project_b   text,
    subject     text,
    created_at  timestamptz NOT NULL,
    archived    boolean NOT NULL DEFAULT false,
    CHECK ((kind = 'relation') = (project_a IS NOT NULL AND project_b IS NOT NULL))
);
-- One conversation per relation between two projects.
CREATE UNIQUE INDEX conversation_relation ON conversation (project_a, project_b) WHERE kind = 'relation';
CREATE INDEX conversation_created_at ON conversation (created_at, id);

CREATE TABLE participant (
    identity_id text PRIMARY KEY,
    name        text NOT NULL
);

CREATE TABLE conversations_participants (
    conversation_id text NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    participant_id  text NOT NULL REFERENCES participant (identity_id),
    role            text NOT NULL,
    joined_at       timestamptz NOT NULL,
    -- Joining order, as the legacy array keeps it.
    position        bigserial NOT NULL,
    PRIMARY KEY (conversation_id, participant_id)
);
CREATE INDEX conversations_participants_participant ON conversations_participants (participant_id);

CREATE TABLE message (
    conversation_id text NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    id              text NOT NULL,
    author_id       text NOT NULL,
    text            text,
    created_at      timestamptz NOT NULL,
    edited_at       timestamptz,
    deleted         boolean NOT NULL DEFAULT false,
    -- Posting order: the tie-break between messages created at the same instant.
    position        bigserial NOT NULL,
    PRIMARY KEY (conversation_id, id)
);
CREATE INDEX message_order ON message (conversation_id, created_at, position);

CREATE TABLE message_read_by (
    conversation_id text NOT NULL,
    message_id      text NOT NULL,
    participant_id  text NOT NULL,
    position        bigserial NOT NULL,
    PRIMARY KEY (conversation_id, message_id, participant_id),
    FOREIGN KEY (conversation_id, message_id) REFERENCES message (conversation_id, id) ON DELETE CASCADE
);

CREATE TABLE temp_attachment (
    conversation_id text NOT NULL,
    message_id      text NOT NULL,
    index           integer NOT NULL,
    name            text NOT NULL,
    size            bigint NOT NULL,
    PRIMARY KEY (conversation_id, message_id, index),
    FOREIGN KEY (conversation_id, message_id) REFERENCES message (conversation_id, id) ON DELETE CASCADE
);

CREATE TABLE stored_file (
    conversation_id text NOT NULL,
    message_id      text NOT NULL,
    index           integer NOT NULL,
    name            text NOT NULL,
    size            bigint NOT NULL,
    storage_key     text NOT NULL,
    id              bigserial NOT NULL,
    PRIMARY KEY (conversation_id, message_id, index),
    FOREIGN KEY (conversation_id, message_id) REFERENCES message (conversation_id, id) ON DELETE CASCADE
);

-- Timestamps as the legacy documents carry them: UTC, milliseconds, 'Z'.
CREATE FUNCTION iso_ms(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
