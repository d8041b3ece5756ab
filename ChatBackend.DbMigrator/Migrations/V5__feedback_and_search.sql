-- A user's feedback on a reply (a rating, up or down, and an optional comment), kept on the reply's own row so that
-- the history shows it; and the full-text index that searching a user's conversations by their words goes through
-- (InnoDB FULLTEXT, in MariaDB and MySQL alike). Building it rebuilds message_store once.

ALTER TABLE message_store
    ADD COLUMN feedback_rating  VARCHAR(8)  CHARACTER SET ascii COLLATE ascii_bin NULL AFTER error_code,
    ADD COLUMN feedback_comment TEXT        CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL AFTER feedback_rating,
    ADD COLUMN feedback_at      DATETIME(6) NULL AFTER feedback_comment,
    ADD CONSTRAINT ck_message_feedback CHECK (feedback_rating IN ('up', 'down'));

ALTER TABLE message_store ADD FULLTEXT INDEX ft_message_text (message);
