package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
)

// Grant is one completed sign-in of one Sentry user through one MCP client.
type Grant struct {
	ID                   string // set by CreateGrant when empty ("g_" + 16 random hex)
	ClientID, ClientName string
	Resource             string           // "/mcp" or "/mcp/{org}"
	Org                  string           // "" for /mcp
	Consented            []string         // scopes the user approved for this client
	Credential           *auth.Credential // the Sentry tokens (encrypted at rest), user, granted scopes, expiry
	Created, Updated     time.Time
}

// Columns of the access and refresh tokens, as bound into their AAD.
const (
	colAccess  = "access_token"
	colRefresh = "refresh_token"
)

func grantAAD(id, col string) string { return "grant:" + id + ":" + col }

// normHost is a credential's host as stored: blanks and trailing slashes
// removed (as auth's stores key credentials).
func normHost(h string) string { return strings.TrimRight(strings.TrimSpace(h), "/") }

// sealed is one encrypted column and its key id.
type sealed struct {
	kid  string
	data []byte // nil when the value is empty
}

func (db *DB) sealToken(id, col, v string) (sealed, error) {
	if v == "" {
		return sealed{}, nil
	}
	kid, data, err := db.keys.Seal([]byte(v), grantAAD(id, col))
	if err != nil {
		return sealed{}, fmt.Errorf("database: sealing the Sentry %s: %w", strings.ReplaceAll(col, "_", " "), err)
	}
	return sealed{kid, data}, nil
}

func (db *DB) openToken(id, col string, s sealed) (string, error) {
	if len(s.data) == 0 {
		return "", nil
	}
	v, err := db.keys.Open(s.kid, s.data, grantAAD(id, col))
	if err != nil {
		return "", fmt.Errorf("database: grant %s: reading its Sentry %s: %w", id, strings.ReplaceAll(col, "_", " "), err)
	}
	return string(v), nil
}

// CreateGrant stores g, setting ID (when empty), Created and Updated (when
// zero). The credential's client id and secret are not stored.
func (db *DB) CreateGrant(ctx context.Context, g *Grant) error {
	if g == nil || g.Credential == nil {
		return errors.New("database: a grant needs a credential")
	}
	c := g.Credential
	if normHost(c.Host) == "" || c.AccessToken == "" {
		return errors.New("database: a grant's credential needs a host and an access token")
	}
	if g.ID == "" {
		g.ID = "g_" + randomHex(8)
	}
	now := db.now()
	if g.Created.IsZero() {
		g.Created = now
	}
	if g.Updated.IsZero() {
		g.Updated = g.Created
	}
	access, err := db.sealToken(g.ID, colAccess, c.AccessToken)
	if err != nil {
		return err
	}
	refresh, err := db.sealToken(g.ID, colRefresh, c.RefreshToken)
	if err != nil {
		return err
	}
	_, err = db.sql.ExecContext(ctx,
		`INSERT INTO grants (id, client_id, client_name, resource, org, consented, host, kind, token_type,
		   access_kid, access_token, refresh_kid, refresh_token, expiry_ms, obtained_ms, refresh_refused_ms,
		   scopes, requested_scopes, sentry_user, created_ms, updated_ms)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		g.ID, g.ClientID, g.ClientName, g.Resource, g.Org, toJSON(g.Consented), normHost(c.Host), c.Kind, c.TokenType,
		access.kid, access.data, refresh.kid, refresh.data, ms(c.Expiry), ms(c.Obtained), ms(c.RefreshRefused),
		toJSON(c.Scopes), toJSON(c.RequestedScopes), toJSON(c.User), ms(g.Created), ms(g.Updated))
	if err != nil {
		return fmt.Errorf("database: storing grant: %w", err)
	}
	return nil
}

const grantColumns = `id, client_id, client_name, resource, org, consented, host, kind, token_type,
	access_kid, access_token, refresh_kid, refresh_token, expiry_ms, obtained_ms, refresh_refused_ms,
	scopes, requested_scopes, sentry_user, created_ms, updated_ms`

type rowScanner interface{ Scan(dest ...any) error }

// scanGrant reads one grant row; with decrypt its tokens are opened, else
// left blank.
func (db *DB) scanGrant(row rowScanner, decrypt bool) (*Grant, error) {
	var g Grant
	c := &auth.Credential{}
	var consented, scopes, requested, user string
	var access, refresh sealed
	var expiry, obtained, refused, created, updated int64
	err := row.Scan(&g.ID, &g.ClientID, &g.ClientName, &g.Resource, &g.Org, &consented, &c.Host, &c.Kind, &c.TokenType,
		&access.kid, &access.data, &refresh.kid, &refresh.data, &expiry, &obtained, &refused,
		&scopes, &requested, &user, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("database: reading grant: %w", err)
	}
	for _, j := range []struct {
		s string
		v any
	}{{consented, &g.Consented}, {scopes, &c.Scopes}, {requested, &c.RequestedScopes}, {user, &c.User}} {
		if err := fromJSON(j.s, j.v); err != nil {
			return nil, err
		}
	}
	c.Expiry, c.Obtained, c.RefreshRefused = fromMS(expiry), fromMS(obtained), fromMS(refused)
	g.Created, g.Updated = fromMS(created), fromMS(updated)
	if decrypt {
		if c.AccessToken, err = db.openToken(g.ID, colAccess, access); err != nil {
			return nil, err
		}
		if c.RefreshToken, err = db.openToken(g.ID, colRefresh, refresh); err != nil {
			return nil, err
		}
	}
	g.Credential = c
	return &g, nil
}

// Grant returns the grant with id, its credential decrypted. ErrNotFound.
func (db *DB) Grant(ctx context.Context, id string) (*Grant, error) {
	return db.grantIn(ctx, db.sql, id)
}

func (db *DB) grantIn(ctx context.Context, q queryer, id string) (*Grant, error) {
	return db.scanGrant(q.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM grants WHERE id = $1`, id), true)
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ListGrants returns every grant, newest first, with AccessToken and
// RefreshToken blank.
func (db *DB) ListGrants(ctx context.Context) ([]*Grant, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+grantColumns+` FROM grants ORDER BY created_ms DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("database: listing grants: %w", err)
	}
	defer rows.Close()
	var out []*Grant
	for rows.Next() {
		g, err := db.scanGrant(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database: listing grants: %w", err)
	}
	return out, nil
}

// DeleteGrant deletes the grant with its codes and tokens. ErrNotFound.
func (db *DB) DeleteGrant(ctx context.Context, id string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("database: deleting grant: %w", err)
	}
	defer tx.Rollback()
	if err := deleteGrantIn(ctx, tx, id); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("database: deleting grant: %w", err)
	}
	return nil
}

func deleteGrantIn(ctx context.Context, q queryer, id string) error {
	for _, st := range []string{`DELETE FROM codes WHERE grant_id = $1`, `DELETE FROM tokens WHERE grant_id = $1`} {
		if _, err := q.ExecContext(ctx, st, id); err != nil {
			return fmt.Errorf("database: deleting grant: %w", err)
		}
	}
	if err := affected(q.ExecContext(ctx, `DELETE FROM grants WHERE id = $1`, id)); err != nil {
		if errors.Is(err, ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("database: deleting grant: %w", err)
	}
	return nil
}

// storeTimeout bounds each call of the auth.Store adapter, whose interface
// has no context.
const storeTimeout = 10 * time.Second

// CredentialStore is the grant's credential as an auth.Store (for
// auth.RefreshingTokenSource): Load(host) returns it (host must equal
// Credential.Host, else an error) with ClientID and ClientSecret set to the
// given upstream OAuth app's (never stored); Save(c) re-encrypts
// AccessToken/RefreshToken with the newest key and updates expiry, scopes,
// obtained, refresh_refused; Delete deletes the grant; Location() is
// "database". While this process holds the grant's Locker on PostgreSQL,
// all three run in the lock's transaction.
func (db *DB) CredentialStore(grantID, upstreamClientID, upstreamSecret string) auth.Store {
	return &credentialStore{db: db, grant: grantID, clientID: upstreamClientID, secret: upstreamSecret}
}

type credentialStore struct {
	db                      *DB
	grant, clientID, secret string
}

func (s *credentialStore) Location() string { return "database" }

func (s *credentialStore) Load(host string) (*auth.Credential, error) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	var g *Grant
	held, err := s.db.inHeldLock(s.grant, func(tx *sql.Tx) error {
		var err error
		g, err = s.db.grantIn(ctx, tx, s.grant)
		return err
	})
	if !held {
		g, err = s.db.Grant(ctx, s.grant)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, auth.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkHost(g.Credential.Host, host); err != nil {
		return nil, err
	}
	c := g.Credential
	c.ClientID, c.ClientSecret = s.clientID, s.secret
	return c, nil
}

func (s *credentialStore) checkHost(stored, asked string) error {
	if normHost(asked) != stored {
		return fmt.Errorf("database: grant %s belongs to the Sentry at %s, not %s", s.grant, stored, normHost(asked))
	}
	return nil
}

func (s *credentialStore) Save(c *auth.Credential) error {
	if c == nil || c.AccessToken == "" {
		return errors.New("database: refusing to save a credential without an access token")
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	db := s.db
	access, err := db.sealToken(s.grant, colAccess, c.AccessToken)
	if err != nil {
		return err
	}
	refresh, err := db.sealToken(s.grant, colRefresh, c.RefreshToken)
	if err != nil {
		return err
	}
	save := func(q queryer) error {
		var stored string
		err := q.QueryRowContext(ctx, `SELECT host FROM grants WHERE id = $1`, s.grant).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("database: grant %s was deleted (revoked); not saving its credential", s.grant)
		}
		if err != nil {
			return fmt.Errorf("database: saving grant %s: %w", s.grant, err)
		}
		if err := s.checkHost(stored, c.Host); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx,
			`UPDATE grants SET token_type = $1, access_kid = $2, access_token = $3, refresh_kid = $4, refresh_token = $5,
			   expiry_ms = $6, obtained_ms = $7, refresh_refused_ms = $8, scopes = $9, updated_ms = $10
			 WHERE id = $11`,
			c.TokenType, access.kid, access.data, refresh.kid, refresh.data,
			ms(c.Expiry), ms(c.Obtained), ms(c.RefreshRefused), toJSON(c.Scopes), ms(db.now()), s.grant)
		if err != nil {
			return fmt.Errorf("database: saving grant %s: %w", s.grant, err)
		}
		return nil
	}
	// Under our own refresh lock the row is locked by its transaction: an
	// update from another would wait for it forever. The save goes in that
	// transaction, committed at once (an error here makes the refresh
	// logic keep the rotated tokens and save them again).
	if held, err := db.commitHeld(s.grant, func(tx *sql.Tx) error { return save(tx) }); held {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("database: saving grant %s: %w", s.grant, err)
	}
	defer tx.Rollback()
	if err := save(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("database: saving grant %s: %w", s.grant, err)
	}
	return nil
}

func (s *credentialStore) Delete(host string) error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	del := func(q queryer, deleteGrant func() error) error {
		var stored string
		err := q.QueryRowContext(ctx, `SELECT host FROM grants WHERE id = $1`, s.grant).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return auth.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("database: deleting grant %s: %w", s.grant, err)
		}
		if err := s.checkHost(stored, host); err != nil {
			return err
		}
		if err := deleteGrant(); errors.Is(err, ErrNotFound) {
			return auth.ErrNotFound
		} else {
			return err
		}
	}
	held, err := s.db.inHeldLock(s.grant, func(tx *sql.Tx) error {
		return del(tx, func() error { return deleteGrantIn(ctx, tx, s.grant) })
	})
	if held {
		return err
	}
	return del(s.db.sql, func() error { return s.db.DeleteGrant(ctx, s.grant) })
}
