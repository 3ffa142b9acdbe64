-- Hosted mode, part 1. Times are unix milliseconds (0 = none); codes,
-- tokens and states are stored only as SHA-256 hashes; Sentry tokens and
-- PKCE verifiers only sealed (AES-256-GCM) with the id of their key.

CREATE TABLE clients (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	redirect_uris TEXT NOT NULL, -- JSON array
	secret_hash   BLOB,          -- NULL: public client
	auth_method   TEXT NOT NULL,
	created_ms    INTEGER NOT NULL
);

CREATE TABLE pending (
	state_hash     BLOB PRIMARY KEY,
	client_id      TEXT NOT NULL,
	client_name    TEXT NOT NULL,
	redirect_uri   TEXT NOT NULL,
	client_state   TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	resource       TEXT NOT NULL,
	org            TEXT NOT NULL,
	scopes         TEXT NOT NULL, -- JSON array
	verifier_kid   TEXT NOT NULL,
	verifier       BLOB NOT NULL,
	browser        BLOB,
	expires_ms     INTEGER NOT NULL
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
	access_token       BLOB NOT NULL,
	refresh_kid        TEXT NOT NULL, -- '' when there is no refresh token
	refresh_token      BLOB,
	expiry_ms          INTEGER NOT NULL,
	obtained_ms        INTEGER NOT NULL,
	refresh_refused_ms INTEGER NOT NULL,
	scopes             TEXT NOT NULL, -- JSON array, or null when unknown
	requested_scopes   TEXT NOT NULL, -- JSON array, or null when unknown
	sentry_user        TEXT NOT NULL, -- JSON object, or null
	created_ms         INTEGER NOT NULL,
	updated_ms         INTEGER NOT NULL
);
CREATE INDEX grants_created ON grants (created_ms);

CREATE TABLE codes (
	code_hash    BLOB PRIMARY KEY,
	grant_id     TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	client_id    TEXT NOT NULL,
	redirect_uri TEXT NOT NULL,
	challenge    TEXT NOT NULL,
	resource     TEXT NOT NULL,
	scopes       TEXT NOT NULL, -- JSON array
	expires_ms   INTEGER NOT NULL,
	used_ms      INTEGER NOT NULL -- 0: not used yet
);
CREATE INDEX codes_grant ON codes (grant_id);
CREATE INDEX codes_expires ON codes (expires_ms);

CREATE TABLE tokens (
	token_hash BLOB PRIMARY KEY,
	kind       TEXT NOT NULL, -- 'access' or 'refresh'
	grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
	client_id  TEXT NOT NULL,
	resource   TEXT NOT NULL,
	scopes     TEXT NOT NULL, -- JSON array
	expires_ms INTEGER NOT NULL,
	parent     BLOB -- refresh tokens: hash of the refresh token this one replaced
);
CREATE INDEX tokens_grant ON tokens (grant_id);
CREATE INDEX tokens_expires ON tokens (expires_ms);

CREATE TABLE locks (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_ms INTEGER NOT NULL
);
