-- Function tools of /v1/responses. A reply that calls tools keeps its calls in tool_calls (a JSON array of
-- {call_id, name, arguments}); the client's outputs come back as the next turn's message, a row of role 'tool' whose
-- tool_calls holds them ({call_id, output}) and whose message is their text. Both are context of later turns.

ALTER TABLE message_store ADD COLUMN tool_calls MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL AFTER message;

ALTER TABLE message_store DROP CONSTRAINT ck_message_role;

ALTER TABLE message_store ADD CONSTRAINT ck_message_role CHECK (role IN ('user', 'assistant', 'tool'));
