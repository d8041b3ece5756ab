-- A conversation's metadata, as /v1/conversations keeps it (at most 16 pairs, as JSON); NULL for one that has none.

ALTER TABLE conversation_store ADD COLUMN metadata MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL AFTER last_message_no;
