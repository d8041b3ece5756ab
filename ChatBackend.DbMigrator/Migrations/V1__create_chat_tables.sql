-- The original's two tables, with their names and columns, plus what correctness needs:
-- unique keys that make retries safe, a reservation counter for message numbers, and the indexes of the two hot
-- queries (a conversation's history in order, a user's conversations by recency).
-- Identifiers are ASCII and compared byte for byte; text is utf8mb4 so every script and emoji survives.

CREATE TABLE conversation_store (
    ID              BIGINT       NOT NULL AUTO_INCREMENT,
    chat_name       VARCHAR(60)  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL DEFAULT 'NEW CHAT',
    conv_id         VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id         BIGINT       NOT NULL,
    message_count   INT          NOT NULL DEFAULT 0,
    -- the highest message_no handed out so far; a send reserves two numbers (its message and its reply) under
    -- this row's lock, so a reply always directly follows its message even when sends overlap
    last_message_no INT          NOT NULL DEFAULT 0,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (ID),
    UNIQUE KEY ux_conversation_conv_id (conv_id),
    KEY ix_conversation_user_recency (user_id, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE message_store (
    ID            BIGINT       NOT NULL AUTO_INCREMENT,
    role          VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    conv_id       VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    message_no    INT          NOT NULL,
    message_id    VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    message       MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    elapsed_time  INT          NULL,
    Status        VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'Pending',
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    PRIMARY KEY (ID),
    UNIQUE KEY ux_message_conv_no (conv_id, message_no),
    UNIQUE KEY ux_message_conv_message_id (conv_id, message_id),
    CONSTRAINT fk_message_conversation FOREIGN KEY (conv_id) REFERENCES conversation_store (conv_id) ON DELETE CASCADE,
    CONSTRAINT ck_message_role CHECK (role IN ('user', 'assistant')),
    CONSTRAINT ck_message_status CHECK (Status IN ('Pending', 'Success', 'Error'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
