-- What a native send asked beyond its message (the model it named, the MCP servers it chose), as JSON, on its message's
-- row: an instance that takes the turn over runs it as it was asked. NULL for the original's sends, and for responses
-- of /v1/responses (their request is in response).

ALTER TABLE message_store ADD COLUMN settings TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL AFTER tool_calls;
