-- A running reply's tool events beside its text (JSON: each MCP server's tools listed, each call started and ended,
-- each approval request, with the offset of the text where it happened), written by the instance that generates it
-- with its text: another instance follows them to resume a stream with its tool events as they come.

ALTER TABLE reply_progress ADD COLUMN tool_events MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL AFTER text;
