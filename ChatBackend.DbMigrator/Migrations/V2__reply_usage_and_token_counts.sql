-- What each reply cost and how it ended, as OpenAI's own response records it (model, input and output tokens,
-- finish reason, time to the first streamed token); each message's token count, so that fitting a conversation
-- into the context budget never tokenizes an old turn again; why a turn failed; and the Cancelled status of a turn
-- the client stopped (its partial reply is kept, with that status).

ALTER TABLE message_store
    ADD COLUMN token_count         INT          NULL AFTER message,
    ADD COLUMN model               VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL AFTER elapsed_time,
    ADD COLUMN input_tokens        INT          NULL AFTER model,
    ADD COLUMN output_tokens       INT          NULL AFTER input_tokens,
    ADD COLUMN finish_reason       VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NULL AFTER output_tokens,
    ADD COLUMN time_to_first_token INT          NULL AFTER finish_reason,
    ADD COLUMN error_code          VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NULL AFTER Status;

ALTER TABLE message_store DROP CONSTRAINT ck_message_status;

ALTER TABLE message_store
    ADD CONSTRAINT ck_message_status CHECK (Status IN ('Pending', 'Success', 'Error', 'Cancelled'));
