-- API keys: long-lived bearer credentials a user makes for SDKs and scripts (Authorization: Bearer cbk_...).
--
-- Only the SHA-256 of a key is kept (the key is 256 random bits, so a plain hash is enough: nothing to guess from);
-- the key itself is shown once, when it is made. Every request that carries a key looks its hash up through the
-- unique key, on whichever instance it reaches, so revoking a key (deleting its row: the hash is gone) holds on every
-- instance at once. prefix is the key's first characters, for the user to tell keys apart. last_used_at is written at
-- most about once a minute per key, not on every request. No foreign key: without a bearer scheme a user is only
-- the user_id the requests name, with no row of its own.

CREATE TABLE api_key (
    id            BIGINT       NOT NULL AUTO_INCREMENT,
    user_id       BIGINT       NOT NULL,
    name          VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    prefix        VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash      BINARY(32)   NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    last_used_at  DATETIME(6)  NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ux_api_key_hash (key_hash),
    KEY ix_api_key_user (user_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
