-- A response's request (JSON) on its user message's row, written by the insert that stores the message: a response no
-- longer needs a row of its own in the turn's first transaction (that second row, with its random key, its conv_id
-- index and its foreign key, cost /v1/responses about a tenth of its sends). The response's id carries its
-- conversation's id (Ids.NewResponseId), so the row is found by the message's own key. The response table keeps the
-- responses made before this migration, whose ids carry nothing: they are still found, read and deleted through it.

-- The last column, so that the change is instant on MySQL 8.0 before 8.0.29 too (no rebuild of message_store, which a
-- Galera cluster would apply as a blocking DDL).
ALTER TABLE message_store ADD COLUMN request MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
