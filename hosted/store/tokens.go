package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Code is an authorization code we issued to an MCP client.
type Code struct {
	GrantID, ClientID, RedirectURI, Challenge, Resource string
	Scopes                                              []string
	Expires                                             time.Time
}

// PutCode stores c under code (stored hashed).
func (db *DB) PutCode(ctx context.Context, code string, c *Code) error {
	if code == "" || c == nil || c.GrantID == "" {
		return errors.New("database: an authorization code needs a value and a grant")
	}
	if c.Expires.IsZero() {
		return errors.New("database: an authorization code needs an expiry")
	}
	_, err := db.sql.ExecContext(ctx,
		`INSERT INTO codes (code_hash, grant_id, client_id, redirect_uri, challenge, resource, scopes, expires_ms, used_ms)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)`,
		HashToken(code), c.GrantID, c.ClientID, c.RedirectURI, c.Challenge, c.Resource, toJSON(c.Scopes), ms(c.Expires))
	if err != nil {
		return fmt.Errorf("database: storing the authorization code: %w", err)
	}
	return nil
}

// UseCode marks the code used and returns it. ErrNotFound: unknown or
// expired. Used before: returns the Code and ErrReplayed (the caller then
// deletes its grant).
func (db *DB) UseCode(ctx context.Context, code string) (*Code, error) {
	h := HashToken(code)
	now := ms(db.now())
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: using the authorization code: %w", err)
	}
	defer tx.Rollback()
	// The write comes first: the first of two concurrent uses marks it.
	res, err := tx.ExecContext(ctx, `UPDATE codes SET used_ms = $1 WHERE code_hash = $2 AND used_ms = 0 AND expires_ms > $3`, now, h, now)
	if err != nil {
		return nil, fmt.Errorf("database: using the authorization code: %w", err)
	}
	first, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("database: using the authorization code: %w", err)
	}
	var c Code
	var scopes string
	var expires, used int64
	err = tx.QueryRowContext(ctx,
		`SELECT grant_id, client_id, redirect_uri, challenge, resource, scopes, expires_ms, used_ms FROM codes WHERE code_hash = $1`+db.dialect.forUpdate, h).
		Scan(&c.GrantID, &c.ClientID, &c.RedirectURI, &c.Challenge, &c.Resource, &scopes, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("database: using the authorization code: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("database: using the authorization code: %w", err)
	}
	if err := fromJSON(scopes, &c.Scopes); err != nil {
		return nil, err
	}
	c.Expires = fromMS(expires)
	switch {
	case first == 1:
		return &c, nil
	case expires <= now:
		return nil, ErrNotFound
	default:
		return &c, ErrReplayed
	}
}

// Token kinds.
const (
	kindAccess  = "access"
	kindRefresh = "refresh"
)

// Token is an MCP access or refresh token we issued (stored hashed).
type Token struct {
	Kind                        string // "access" or "refresh"
	GrantID, ClientID, Resource string
	Scopes                      []string
	Expires                     time.Time
	Parent                      []byte // refresh tokens: HashToken of the refresh token this one replaced
}

// PutToken stores t under token (stored hashed).
func (db *DB) PutToken(ctx context.Context, token string, t *Token) error {
	if token == "" || t == nil || t.GrantID == "" {
		return errors.New("database: a token needs a value and a grant")
	}
	if t.Kind != kindAccess && t.Kind != kindRefresh {
		return fmt.Errorf("database: unknown token kind %q", t.Kind)
	}
	if t.Parent != nil && t.Kind != kindRefresh {
		return errors.New("database: only refresh tokens have a parent")
	}
	if t.Expires.IsZero() {
		return errors.New("database: a token needs an expiry")
	}
	_, err := db.sql.ExecContext(ctx,
		`INSERT INTO tokens (token_hash, kind, grant_id, client_id, resource, scopes, expires_ms, parent)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		HashToken(token), t.Kind, t.GrantID, t.ClientID, t.Resource, toJSON(t.Scopes), ms(t.Expires), t.Parent)
	if err != nil {
		return fmt.Errorf("database: storing the token: %w", err)
	}
	return nil
}

const tokenColumns = `kind, grant_id, client_id, resource, scopes, expires_ms, parent`

// scanToken reads tokenColumns and then extra.
func scanToken(row rowScanner, extra ...any) (*Token, error) {
	var t Token
	var scopes string
	var expires int64
	err := row.Scan(append([]any{&t.Kind, &t.GrantID, &t.ClientID, &t.Resource, &scopes, &expires, &t.Parent}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("database: reading the token: %w", err)
	}
	if err := fromJSON(scopes, &t.Scopes); err != nil {
		return nil, err
	}
	t.Expires = fromMS(expires)
	return &t, nil
}

// LookupToken returns an unexpired token that is not retired. ErrNotFound.
func (db *DB) LookupToken(ctx context.Context, token string) (*Token, error) {
	return scanToken(db.sql.QueryRowContext(ctx,
		`SELECT `+tokenColumns+` FROM tokens WHERE token_hash = $1 AND expires_ms > $2 AND retired_ms = 0`, HashToken(token), ms(db.now())))
}

// ErrRetired means a refresh token was presented after it was replaced:
// its successor was used, or a later refresh of the same token replaced
// the successor. Either way it has leaked, and the caller revokes the
// sign-in (DeleteGrant).
var ErrRetired = errors.New("refresh token presented after it was replaced")

// LookupRefresh returns an unexpired refresh token, retired or not, without
// changing anything (the caller checks the request before RotateRefresh).
// ErrNotFound.
func (db *DB) LookupRefresh(ctx context.Context, token string) (t *Token, retired bool, err error) {
	var retiredMS int64
	t, err = scanToken(db.sql.QueryRowContext(ctx,
		`SELECT `+tokenColumns+`, retired_ms FROM tokens WHERE token_hash = $1 AND kind = 'refresh' AND expires_ms > $2`,
		HashToken(token), ms(db.now())), &retiredMS)
	if err != nil {
		return nil, false, err
	}
	return t, retiredMS != 0, nil
}

// Rotation is the pair of tokens a refresh issues.
type Rotation struct {
	Access, Refresh               string // the new tokens (stored hashed)
	AccessExpires, RefreshExpires time.Time
	Scopes                        []string
}

// RotateRefresh replaces the refresh token old, issued to clientID, by the
// pair next, in one transaction: old must still be unretired; the refresh
// token it replaced is retired (valid only until its successor is first
// used), so are the successors issued for old before (a retried refresh
// leaves one live chain, and whoever presents a lost successor later
// reveals a leak), whose access tokens go; then next is stored with old as
// parent. A retired old returns its Token and ErrRetired and changes
// nothing; a token of another client is ErrNotFound.
func (db *DB) RotateRefresh(ctx context.Context, old, clientID string, next Rotation) (*Token, error) {
	if next.Access == "" || next.Refresh == "" || next.AccessExpires.IsZero() || next.RefreshExpires.IsZero() {
		return nil, errors.New("database: a rotation needs two tokens with expiries")
	}
	h, now := HashToken(old), ms(db.now())
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: rotating the refresh token: %w", err)
	}
	defer tx.Rollback()
	// Locking old's row makes concurrent rotations of it take turns (on
	// PostgreSQL; SQLite's write transactions are exclusive): the later one
	// then sees, and retires, the successor the earlier one stored.
	var retired int64
	t, err := scanToken(tx.QueryRowContext(ctx,
		`SELECT `+tokenColumns+`, retired_ms FROM tokens WHERE token_hash = $1 AND kind = 'refresh' AND expires_ms > $2`+db.dialect.forUpdate, h, now), &retired)
	switch {
	case err != nil:
		return nil, err
	case retired != 0:
		return t, ErrRetired
	case t.ClientID != clientID:
		return nil, ErrNotFound
	}
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE tokens SET retired_ms = $1 WHERE token_hash = $2 AND kind = 'refresh' AND retired_ms = 0`, []any{now, t.Parent}},
		{`UPDATE tokens SET retired_ms = $1 WHERE parent = $2 AND kind = 'refresh' AND retired_ms = 0`, []any{now, h}},
		{`DELETE FROM tokens WHERE parent = $1 AND kind = 'access'`, []any{h}},
		{`INSERT INTO tokens (token_hash, kind, grant_id, client_id, resource, scopes, expires_ms, parent) VALUES ($1, 'access', $2, $3, $4, $5, $6, $7)`,
			[]any{HashToken(next.Access), t.GrantID, clientID, t.Resource, toJSON(next.Scopes), ms(next.AccessExpires), h}},
		{`INSERT INTO tokens (token_hash, kind, grant_id, client_id, resource, scopes, expires_ms, parent) VALUES ($1, 'refresh', $2, $3, $4, $5, $6, $7)`,
			[]any{HashToken(next.Refresh), t.GrantID, clientID, t.Resource, toJSON(next.Scopes), ms(next.RefreshExpires), h}},
	}
	for i, st := range steps {
		if i == 0 && t.Parent == nil { // the first of its chain replaced nothing
			continue
		}
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return nil, fmt.Errorf("database: rotating the refresh token: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("database: rotating the refresh token: %w", err)
	}
	return t, nil
}

// DeleteToken deletes one token (revocation). ErrNotFound.
func (db *DB) DeleteToken(ctx context.Context, token string) error {
	err := affected(db.sql.ExecContext(ctx, `DELETE FROM tokens WHERE token_hash = $1`, HashToken(token)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("database: deleting the token: %w", err)
	}
	return err
}

// DeleteExpired removes expired pending authorizations, codes, tokens and
// locks, and grants left without codes or tokens for an hour; returns how
// many.
func (db *DB) DeleteExpired(ctx context.Context) (int64, error) {
	now := ms(db.now())
	tx, err := db.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("database: deleting expired records: %w", err)
	}
	defer tx.Rollback()
	var total int64
	for _, table := range []string{"pending", "codes", "tokens", "locks"} {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_ms <= $1`, now)
		if err != nil {
			return 0, fmt.Errorf("database: deleting expired %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("database: deleting expired %s: %w", table, err)
		}
		total += n
	}
	// A grant no code or token refers to any more (its code was never
	// exchanged, or its refresh tokens expired) cannot be used again: its
	// Sentry tokens go too.
	res, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE created_ms <= $1
		AND NOT EXISTS (SELECT 1 FROM tokens WHERE tokens.grant_id = grants.id)
		AND NOT EXISTS (SELECT 1 FROM codes WHERE codes.grant_id = grants.id)`, now-orphanAfter.Milliseconds())
	if err != nil {
		return 0, fmt.Errorf("database: deleting unused grants: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("database: deleting unused grants: %w", err)
	}
	total += n
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("database: deleting expired records: %w", err)
	}
	return total, nil
}

// orphanAfter is how old a grant without codes or tokens must be before
// DeleteExpired removes it (longer than any code lives).
const orphanAfter = time.Hour
