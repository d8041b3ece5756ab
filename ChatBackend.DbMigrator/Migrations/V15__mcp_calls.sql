-- Calls of the tools the server runs (MCP), each recorded before it runs and again when it ends, so that an instance
-- that takes a turn over knows which calls were made (their outputs are reused) and which were started and never
-- ended (reported to the model as failed, never run again). message_no is the number of the turn's reply, attempt the
-- turn's attempt that made the call, call_no its place in the turn. The reply that ends the turn keeps the calls too
-- (its tool_calls), for later context and the history. No foreign key (Group Replication refuses cascades): rows go
-- with their conversation or response in the statements that delete its messages.

CREATE TABLE tool_call (
    conv_id       VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    message_no    INT          NOT NULL,
    attempt       INT          NOT NULL,
    call_no       INT          NOT NULL,
    round_no      INT          NOT NULL,
    call_id       VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    server_label  VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    name          VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    arguments     MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    output        MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    error         TEXT         CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    status        VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    started_at    DATETIME(6)  NOT NULL,
    ended_at      DATETIME(6)  NULL,
    PRIMARY KEY (conv_id, message_no, attempt, call_no),
    CONSTRAINT ck_tool_call_status CHECK (status IN ('started', 'completed', 'failed'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
