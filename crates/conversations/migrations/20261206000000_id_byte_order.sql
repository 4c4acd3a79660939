-- Conversation ids in the order of their bytes, as MongoDB orders strings: the index that
-- pages the keys `cutover verify` enumerates (`ORDER BY id COLLATE "C"`) whatever the
-- database's collation.
CREATE INDEX conversation_id_bytes ON conversation (id COLLATE "C");
