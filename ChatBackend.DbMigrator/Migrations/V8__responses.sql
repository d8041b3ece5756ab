-- Responses of the OpenAI Responses API (/v1/responses). A response is a turn: its user message is a row of
-- message_store whose message_id is the response's id, its reply the row after it, as for every turn. This table adds
-- what the native API has no place for: the response's id found without its conversation, and what the request asked
-- (model, instructions, sampling, metadata, input items, settings), as JSON, echoed by every read of the response.
-- Native turns have no row here. Rows go with their conversation.

CREATE TABLE response (
    id          VARCHAR(40)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    conv_id     VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    request     MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    KEY ix_response_conversation (conv_id),
    CONSTRAINT fk_response_conversation FOREIGN KEY (conv_id) REFERENCES conversation_store (conv_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
