-- Hosted mode, part 1 (PostgreSQL; the same schema as migrations/sqlite,
-- BYTEA for BLOB, BIGINT for INTEGER). Times are unix milliseconds (0 = none); codes,
-- tokens and states are stored only as SHA-256 hashes; Sentry tokens and
-- PKCE verifiers only sealed (AES-256-GCM) with the id of their key.

CREATE TABLE clients (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	redirect_uris TEXT NOT NULL, -- JSON array
	secret_hash   BYTEA,         -- NULL: public client
	auth_method   TEXT NOT NULL,
	created_ms    BIGINT NOT NULL
);

CREATE TABLE pending (
	state_hash     BYTEA PRIMARY KEY,
	client_id      TEXT NOT NULL,
	client_name    TEXT NOT NULL,
	redirect_uri   TEXT NOT NULL,
	client_state   TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	resource       TEXT NOT NULL,
	org            TEXT NOT NULL,
	scopes         TEXT NOT NULL, -- JSON array
	verifier_kid   TEXT NOT NULL,
	verifier       BYTEA NOT NULL,
	browser        BYTEA,
	expires_ms     BIGINT NOT NULL
);
CREATE INDEX pending_expires ON pending (expires_ms);

CREATE TABLE grants (
	id                 TEXT PRIMARY KEY,
	client_id          TEXT NOT NULL,
	client_name        TEXT NOT NULL,
	resource           TEXT NOT NULL,
	org                TEXT NOT NULL,
	consented          TEXT NOT NULL, -- JSON array
	host               TEXT NOT NULL, -- Sentry base URL of the credential
	kind               TEXT NOT NULL,
	token_type         TEXT NOT NULL,
	access_kid         TEXT NOT NULL,
	access_token       BYTEA NOT NULL,
	refresh_kid        TEXT NOT NULL, -- '' when there is no refresh token
	refresh_token      BYTEA,
	expiry_ms          BIGINT NOT NULL,
	obtained_ms        BIGINT NOT NULL,
	refresh_refused_ms BIGINT NOT NULL,
	scopes             TEXT NOT NULL, -- JSON array, or null when unknown
	requested_scopes   TEXT NOT NULL, -- JSON array, or null when unknown
	sentry_user        TEXT NOT NULL, -- JSON object, or null
	created_ms         BIGINT NOT NULL,
	updated_ms         BIGINT NOT NULL
);
CREATE INDEX grants_created ON grants (created_ms);

CREATE TABLE codes (
	code_hash    BYTEA PRIMARY KEY,
	grant_id     TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	client_id    TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	challenge    TEXT NOT NULL,
	resource     TEXT NOT NULL,
	scopes       TEXT NOT NULL, -- JSON array
	expires_ms   BIGINT NOT NULL,
	used_ms      BIGINT NOT NULL -- 0: not used yet
);
CREATE INDEX codes_grant ON codes (grant_id);
CREATE INDEX codes_expires ON codes (expires_ms);

CREATE TABLE tokens (
	token_hash BYTEA PRIMARY KEY,
	kind       TEXT NOT NULL, -- 'access' or 'refresh'
	grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	client_id  TEXT NOT NULL,
	resource   TEXT NOT NULL,
	scopes     TEXT NOT NULL, -- JSON array
	expires_ms BIGINT NOT NULL,
	parent     BYTEA -- refresh tokens: hash of the refresh token this one replaced
);
CREATE INDEX tokens_grant ON tokens (grant_id);
CREATE INDEX tokens_expires ON tokens (expires_ms);

-- Refresh leases on SQLite; PostgreSQL locks the grant's row instead, the
-- table is kept so that both schemas are the same.
CREATE TABLE locks (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_ms BIGINT NOT NULL
);
