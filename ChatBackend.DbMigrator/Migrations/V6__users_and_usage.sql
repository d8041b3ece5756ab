-- Users from bearer tokens, and what each user spends per day.
--
-- user_identity maps a token's issuer and subject to the numeric user_id every other table keeps, created on first
-- sight (a unique key makes two first requests at once agree on one id). Its ids start at 10^12 so that they never
-- meet the small ids the original's clients chose for themselves in a database that served them before a scheme was
-- configured. Issuers and subjects are compared byte for byte, as OIDC says.
--
-- usage_daily counts, per user and UTC day, the tokens of the replies (input and output) and the sends that ended,
-- for Quotas:DailyTokensPerUser and GET /usage; it holds across instances because it is here.

CREATE TABLE user_identity (
    user_id     BIGINT       NOT NULL AUTO_INCREMENT,
    issuer      VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    subject     VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (user_id),
    UNIQUE KEY ux_user_identity_subject (issuer, subject)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci AUTO_INCREMENT=1000000000000;

CREATE TABLE usage_daily (
    user_id     BIGINT       NOT NULL,
    day         DATE         NOT NULL,
    tokens      BIGINT       NOT NULL DEFAULT 0,
    sends       INT          NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
