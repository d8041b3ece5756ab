-- Branches (an edited message, a regenerated reply, a response continued from one that is not the newest): a
-- conversation is a tree. parent_no, on a row that begins a turn: the message_no of the row it follows, 0 for the
-- conversation's start; NULL (every row written before this migration, and every send that names no message to
-- follow): the row numbered right before it, so an existing conversation is one branch, unchanged. A reply follows
-- the message right before it. branched is set once a row follows another than the one right before it, so a linear
-- conversation keeps its one-statement reads.

ALTER TABLE message_store ADD COLUMN parent_no INT NULL AFTER message_no;

ALTER TABLE conversation_store ADD COLUMN branched TINYINT NOT NULL DEFAULT 0;
