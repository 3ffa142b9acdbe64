package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Client is an MCP client registered with our authorization server.
type Client struct {
	ID, Name     string
	RedirectURIs []string
	SecretHash   []byte // nil: public client
	AuthMethod   string // "none", "client_secret_basic", "client_secret_post"
	Created      time.Time
}

// CreateClient stores a new client (Created is set to now when zero).
func (db *DB) CreateClient(ctx context.Context, c *Client) error {
	if c == nil || c.ID == "" {
		return errors.New("database: a client needs an id")
	}
	switch c.AuthMethod {
	case "none", "client_secret_basic", "client_secret_post":
	default:
		return fmt.Errorf("database: unknown client authentication method %q", c.AuthMethod)
	}
	if (c.AuthMethod == "none") != (c.SecretHash == nil) {
		return errors.New("database: a public client (auth method none) has no secret, a confidential one needs its hash")
	}
	if c.Created.IsZero() {
		c.Created = db.now()
	}
	_, err := db.sql.ExecContext(ctx,
		`INSERT INTO clients (id, name, redirect_uris, secret_hash, auth_method, created_ms) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Name, toJSON(c.RedirectURIs), c.SecretHash, c.AuthMethod, ms(c.Created))
	if err != nil {
		return fmt.Errorf("database: storing client: %w", err)
	}
	return nil
}

// Client returns the client with id. ErrNotFound.
func (db *DB) Client(ctx context.Context, id string) (*Client, error) {
	var c Client
	var uris string
	var created int64
	err := db.sql.QueryRowContext(ctx,
		`SELECT id, name, redirect_uris, secret_hash, auth_method, created_ms FROM clients WHERE id = $1`, id).
		Scan(&c.ID, &c.Name, &uris, &c.SecretHash, &c.AuthMethod, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("database: reading client: %w", err)
	}
	if err := fromJSON(uris, &c.RedirectURIs); err != nil {
		return nil, err
	}
	c.Created = fromMS(created)
	return &c, nil
}

// Pending is an approved authorization waiting for Sentry's callback (keyed
// by our upstream state).
type Pending struct {
	ClientID, ClientName, RedirectURI, ClientState, CodeChallenge, Resource, Org string

	Scopes   []string // what the user approved: what we ask Sentry for
	Verifier string   // our PKCE verifier towards Sentry: encrypted at rest
	Browser  []byte   // hash of the consenting browser's cookie
	Expires  time.Time
}

func pendingAAD(stateHash []byte) string {
	return "pending:" + hex.EncodeToString(stateHash) + ":verifier"
}

// PutPending stores p under state (stored hashed; the verifier sealed).
func (db *DB) PutPending(ctx context.Context, state string, p *Pending) error {
	if state == "" || p == nil {
		return errors.New("database: a pending authorization needs a state")
	}
	if p.Expires.IsZero() {
		return errors.New("database: a pending authorization needs an expiry")
	}
	h := HashToken(state)
	kid, sealed, err := db.keys.Seal([]byte(p.Verifier), pendingAAD(h))
	if err != nil {
		return fmt.Errorf("database: sealing the verifier: %w", err)
	}
	_, err = db.sql.ExecContext(ctx,
		`INSERT INTO pending (state_hash, client_id, client_name, redirect_uri, client_state, code_challenge, resource, org, scopes, verifier_kid, verifier, browser, expires_ms)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		h, p.ClientID, p.ClientName, p.RedirectURI, p.ClientState, p.CodeChallenge, p.Resource, p.Org,
		toJSON(p.Scopes), kid, sealed, p.Browser, ms(p.Expires))
	if err != nil {
		return fmt.Errorf("database: storing the pending authorization: %w", err)
	}
	return nil
}

// TakePending returns and deletes it, atomically (single use). ErrNotFound
// when unknown, taken or expired.
func (db *DB) TakePending(ctx context.Context, state string) (*Pending, error) {
	h := HashToken(state)
	var p Pending
	var scopes, kid string
	var sealed []byte
	var expires int64
	err := db.sql.QueryRowContext(ctx,
		`DELETE FROM pending WHERE state_hash = $1
		 RETURNING client_id, client_name, redirect_uri, client_state, code_challenge, resource, org, scopes, verifier_kid, verifier, browser, expires_ms`, h).
		Scan(&p.ClientID, &p.ClientName, &p.RedirectURI, &p.ClientState, &p.CodeChallenge, &p.Resource, &p.Org,
			&scopes, &kid, &sealed, &p.Browser, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("database: taking the pending authorization: %w", err)
	}
	p.Expires = fromMS(expires)
	if !db.now().Before(p.Expires) {
		return nil, ErrNotFound
	}
	if err := fromJSON(scopes, &p.Scopes); err != nil {
		return nil, err
	}
	v, err := db.keys.Open(kid, sealed, pendingAAD(h))
	if err != nil {
		return nil, fmt.Errorf("database: the pending authorization's verifier: %w", err)
	}
	p.Verifier = string(v)
	return &p, nil
}
