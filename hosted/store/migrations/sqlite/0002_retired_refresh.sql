-- A refresh token whose successor has been used is retired, not deleted:
-- presenting it again means it was stolen (or replayed), and the sign-in
-- is revoked (OAuth 2.1 s4.3.1). Retired rows go at their expiry.
ALTER TABLE tokens ADD COLUMN retired_ms INTEGER NOT NULL DEFAULT 0;
