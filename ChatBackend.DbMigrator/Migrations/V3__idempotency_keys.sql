-- Idempotency-Key (the IETF httpapi draft): a user's key names the turn it started for 24 hours, with the
-- fingerprint of the request it came with, so that a retried send (a first send too) gets that turn again and the
-- same key on another request is refused. No foreign key: the key is claimed before a new conversation's row
-- exists, in the same transaction; a key whose conversation is gone leads to a 404, as the conversation would.

CREATE TABLE idempotency_key (
    user_id     BIGINT       NOT NULL,
    idem_key    VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    fingerprint BINARY(32)   NOT NULL,
    conv_id     VARCHAR(20)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    message_id  VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (user_id, idem_key),
    KEY ix_idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
