-- A refresh token that was replaced is retired, not deleted: presenting it
-- again means it leaked (or was replayed), and the sign-in is revoked
-- (OAuth 2.1 s4.3.1). Retired rows go at their expiry. Rotation looks
-- tokens up by the refresh token they were issued for.
ALTER TABLE tokens ADD COLUMN retired_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tokens_parent ON tokens (parent);
