-- A reply while it is generated, for every API instance to see: the instance that generates it writes its text so
-- far every progress interval (all its running turns in one statement) and thereby its heartbeat; another instance
-- follows the row to resume a client's stream, sets cancel_requested to stop it, and counts a Pending turn whose
-- heartbeat stopped as abandoned, to take it over. Each try of a turn is an attempt (message_store.attempt counts
-- them), so that only the try that holds the turn may store its end, and a resumed stream knows when the text it
-- had was replaced. Rows go when their turn ends; the writer also clears rows left by instances that died.
-- No foreign key: the writer's many-row statements must not lock conversation rows.

ALTER TABLE message_store ADD COLUMN attempt INT NOT NULL DEFAULT 0 AFTER Status;

CREATE TABLE reply_progress (
    conv_id          VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    message_no       INT          NOT NULL,
    attempt          INT          NOT NULL,
    owner            VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NULL,
    text             MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    cancel_requested TINYINT(1)   NOT NULL DEFAULT 0,
    heartbeat_at     DATETIME(6)  NOT NULL,
    PRIMARY KEY (conv_id, message_no, attempt),
    KEY ix_progress_owner (owner),
    KEY ix_progress_heartbeat (heartbeat_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
