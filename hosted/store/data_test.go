package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
)

const host = "https://sentry.example"

// testGrant is a grant whose tokens are recognisable in raw bytes.
func testGrant(tag string) *Grant {
	now := time.Now().Truncate(time.Millisecond)
	return &Grant{
		ClientID:   "client-" + tag,
		ClientName: "Client " + tag,
		Resource:   "/mcp/acme",
		Org:        "acme",
		Consented:  []string{"org:read", "event:write"},
		Credential: &auth.Credential{
			Host:            host + "/",
			AccessToken:     "sntryu_ACCESS_" + tag + "_0123456789abcdef",
			RefreshToken:    "sntryr_REFRESH_" + tag + "_0123456789abcdef",
			TokenType:       "Bearer",
			Expiry:          now.Add(30 * 24 * time.Hour),
			Obtained:        now,
			Scopes:          []string{"org:read", "event:write", "project:read"},
			RequestedScopes: []string{"org:read", "event:write"},
			User:            &auth.CredentialUser{ID: "1", Name: "Jane " + tag, Email: tag + "@example.com"},
			Kind:            auth.KindOAuth,
			ClientID:        "upstream-id",
			ClientSecret:    "sntrya_UPSTREAM_SECRET_" + tag,
		},
	}
}

func mustCreateGrant(t *testing.T, db *DB, g *Grant) *Grant {
	t.Helper()
	if err := db.CreateGrant(context.Background(), g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	return g
}

func TestGrantRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("one"))
		if !strings.HasPrefix(g.ID, "g_") || len(g.ID) != 18 {
			t.Errorf("ID = %q, want g_ and 16 hex digits", g.ID)
		}
		if g.Created.IsZero() || !g.Updated.Equal(g.Created) {
			t.Errorf("Created %v, Updated %v", g.Created, g.Updated)
		}
		got, err := db.Grant(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *g.Credential
		want.Host = host // normalised
		want.ClientID, want.ClientSecret = "", ""
		if !reflect.DeepEqual(got.Credential, &want) {
			t.Errorf("credential\n got %#v\nwant %#v", *got.Credential, want)
		}
		if got.Credential.AccessToken != want.AccessToken || got.Credential.RefreshToken != want.RefreshToken {
			t.Error("tokens differ") // %#v above redacts them
		}
		if got.ID != g.ID || got.ClientID != g.ClientID || got.ClientName != g.ClientName || got.Resource != g.Resource ||
			got.Org != g.Org || !reflect.DeepEqual(got.Consented, g.Consented) ||
			!got.Created.Equal(g.Created.Truncate(time.Millisecond)) {
			t.Errorf("grant = %+v, want %+v", got, g)
		}

		// nil and empty scope lists stay apart (nil: unknown).
		g2 := testGrant("two")
		g2.Credential.Scopes, g2.Credential.RequestedScopes, g2.Credential.RefreshToken, g2.Credential.User = []string{}, nil, "", nil
		g2.Created = g.Created.Add(time.Second)
		mustCreateGrant(t, db, g2)
		got2, err := db.Grant(ctx, g2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c := got2.Credential; c.Scopes == nil || len(c.Scopes) != 0 || c.RequestedScopes != nil || c.RefreshToken != "" || c.User != nil {
			t.Errorf("second credential = %#v", *c)
		}

		list, err := db.ListGrants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != g2.ID || list[1].ID != g.ID {
			t.Fatalf("ListGrants = %v, want newest (%s) first", list, g2.ID)
		}
		for _, l := range list {
			if l.Credential.AccessToken != "" || l.Credential.RefreshToken != "" {
				t.Error("ListGrants returned tokens")
			}
			if l.Credential.User == nil && l.ID == g.ID {
				t.Error("ListGrants dropped the user")
			}
		}

		if _, err := db.Grant(ctx, "g_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown grant: %v", err)
		}
		if err := db.CreateGrant(ctx, &Grant{ID: g.ID, Credential: g.Credential}); err == nil {
			t.Error("a second grant with the same id was stored")
		}
		if err := db.CreateGrant(ctx, &Grant{}); err == nil {
			t.Error("a grant without a credential was stored")
		}
	})
}

// A ciphertext moved into another grant's row (or column) does not decrypt:
// the AAD binds it to its grant and column.
func TestSwappedCiphertextsFail(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db := newDB(t, be)
		a := mustCreateGrant(t, db, testGrant("a"))
		b := mustCreateGrant(t, db, testGrant("b"))
		read := func(id, col string) []byte {
			var v []byte
			if err := db.sql.QueryRowContext(ctx, `SELECT `+col+` FROM grants WHERE id = $1`, id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		aAccess, bAccess, aRefresh := read(a.ID, "access_token"), read(b.ID, "access_token"), read(a.ID, "refresh_token")
		set := func(id, col string, v []byte) {
			if _, err := db.sql.ExecContext(ctx, `UPDATE grants SET `+col+` = $1 WHERE id = $2`, v, id); err != nil {
				t.Fatal(err)
			}
		}
		set(a.ID, "access_token", bAccess)
		set(b.ID, "access_token", aAccess)
		for _, id := range []string{a.ID, b.ID} {
			if g, err := db.Grant(ctx, id); err == nil {
				t.Errorf("grant %s with a swapped ciphertext decrypted to %q", id, g.Credential.AccessToken)
			} else if strings.Contains(err.Error(), "ACCESS") {
				t.Errorf("error shows a token: %v", err)
			}
		}
		// The refresh token's ciphertext in the access token column of its own grant.
		set(a.ID, "access_token", aRefresh)
		if _, err := db.Grant(ctx, a.ID); err == nil {
			t.Error("a refresh token ciphertext decrypted as the access token")
		}
		set(a.ID, "access_token", aAccess)
		if g, err := db.Grant(ctx, a.ID); err != nil || g.Credential.AccessToken != a.Credential.AccessToken {
			t.Errorf("restored grant: %v", err)
		}
	})
}

func key(fill byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32)) }

func parseKeys(t *testing.T, s string) *secrets.Keys {
	t.Helper()
	k, err := secrets.ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.fresh(t)
		kidOf := func(db *DB, id string) (access, refresh string) {
			t.Helper()
			if err := db.sql.QueryRowContext(ctx, `SELECT access_kid, refresh_kid FROM grants WHERE id = $1`, id).Scan(&access, &refresh); err != nil {
				t.Fatal(err)
			}
			return
		}

		dbA := openAt(t, dsn, parseKeys(t, "a:"+key(0xaa)))
		g := mustCreateGrant(t, dbA, testGrant("rot"))
		if a, r := kidOf(dbA, g.ID); a != "a" || r != "a" {
			t.Fatalf("key ids %q %q, want a", a, r)
		}
		dbA.Close()

		// b is added as the newest key: grants under a still read; a save
		// re-encrypts under b.
		dbBA := openAt(t, dsn, parseKeys(t, "b:"+key(0xbb)+",a:"+key(0xaa)))
		got, err := dbBA.Grant(ctx, g.ID)
		if err != nil || got.Credential.AccessToken != g.Credential.AccessToken {
			t.Fatalf("reading under b,a: %v", err)
		}
		cs := dbBA.CredentialStore(g.ID, "upstream", "upstream-secret")
		c, err := cs.Load(host)
		if err != nil {
			t.Fatal(err)
		}
		c.AccessToken, c.RefreshToken = "sntryu_ROTATED_ACCESS", "sntryr_ROTATED_REFRESH"
		if err := cs.Save(c); err != nil {
			t.Fatal(err)
		}
		if a, r := kidOf(dbBA, g.ID); a != "b" || r != "b" {
			t.Errorf("after Save key ids %q %q, want b", a, r)
		}
		dbBA.Close()

		// a is retired: the re-encrypted grant reads with b alone.
		dbB := openAt(t, dsn, parseKeys(t, "b:"+key(0xbb)))
		got, err = dbB.Grant(ctx, g.ID)
		if err != nil || got.Credential.AccessToken != "sntryu_ROTATED_ACCESS" || got.Credential.RefreshToken != "sntryr_ROTATED_REFRESH" {
			t.Fatalf("reading under b: %v", err)
		}
		// A grant still under a, with only b: a clear error naming the missing key.
		old := mustCreateGrant(t, openAt(t, dsn, parseKeys(t, "a:"+key(0xaa))), testGrant("old"))
		_, err = dbB.Grant(ctx, old.ID)
		if err == nil || !strings.Contains(err.Error(), `key "a", which is not configured`) || !strings.Contains(err.Error(), old.ID) {
			t.Errorf("unknown key: %v", err)
		}
		if _, err := dbB.CredentialStore(old.ID, "u", "s").Load(host); err == nil || errors.Is(err, auth.ErrNotFound) {
			t.Errorf("Load with an unknown key: %v", err)
		}
	})
}

func TestCredentialStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("cs"))
		cs := db.CredentialStore(g.ID, "upstream-id", "upstream-secret")
		if cs.Location() != "database" {
			t.Errorf("Location = %q", cs.Location())
		}
		c, err := cs.Load(host + "/")
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientID != "upstream-id" || c.ClientSecret != "upstream-secret" || c.Host != host || c.AccessToken != g.Credential.AccessToken {
			t.Errorf("Load = %v", c)
		}
		if _, err := cs.Load("https://evil.example"); err == nil || !strings.Contains(err.Error(), "not https://evil.example") {
			t.Errorf("Load of another host: %v", err)
		}

		// Save updates what a refresh changes, and nothing else.
		next := *c
		next.AccessToken, next.RefreshToken = "sntryu_NEXT", "sntryr_NEXT"
		next.Expiry = c.Expiry.Add(time.Hour).Truncate(time.Millisecond)
		next.Obtained = c.Obtained.Add(time.Hour).Truncate(time.Millisecond)
		next.RefreshRefused = time.UnixMilli(1_800_000_000_000)
		next.Scopes = []string{"org:read"}
		next.User = &auth.CredentialUser{ID: "999"} // not a refresh's business
		next.ClientSecret = "must-not-be-stored"
		if err := cs.Save(&next); err != nil {
			t.Fatal(err)
		}
		got, err := db.Grant(ctx, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		gc := got.Credential
		if gc.AccessToken != "sntryu_NEXT" || gc.RefreshToken != "sntryr_NEXT" || !gc.Expiry.Equal(next.Expiry) ||
			!gc.Obtained.Equal(next.Obtained) || !gc.RefreshRefused.Equal(next.RefreshRefused) ||
			!reflect.DeepEqual(gc.Scopes, []string{"org:read"}) || gc.User.ID != "1" || gc.ClientSecret != "" {
			t.Errorf("after Save: %#v", *gc)
		}
		if !got.Updated.After(got.Created) && !got.Updated.Equal(got.Created) {
			t.Errorf("Updated %v before Created %v", got.Updated, got.Created)
		}
		other := next
		other.Host = "https://evil.example"
		if err := cs.Save(&other); err == nil {
			t.Error("Save for another host succeeded")
		}
		if err := cs.Save(&auth.Credential{Host: host}); err == nil {
			t.Error("Save without an access token succeeded")
		}

		if err := cs.Delete("https://evil.example"); err == nil {
			t.Error("Delete for another host succeeded")
		}
		if err := cs.Delete(host); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.Load(host); err != auth.ErrNotFound {
			t.Errorf("Load after Delete: %v, want auth.ErrNotFound", err)
		}
		if err := cs.Delete(host); err != auth.ErrNotFound {
			t.Errorf("second Delete: %v, want auth.ErrNotFound", err)
		}
		if err := cs.Save(&next); err == nil || !strings.Contains(err.Error(), "was deleted") {
			t.Errorf("Save after Delete: %v", err)
		}
	})
}

// Nothing secret is in the database files in plain text: the Sentry tokens
// are sealed, codes, tokens and states hashed, the upstream secret absent.
func TestNoPlaintextAtRest(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.fresh(t)
		db := openAt(t, dsn, secrets.Ephemeral())
		g := mustCreateGrant(t, db, testGrant("rest"))
		cs := db.CredentialStore(g.ID, "upstream-id", "sntrya_UPSTREAM_SECRET_SAVED")
		c, err := cs.Load(host)
		if err != nil {
			t.Fatal(err)
		}
		c.AccessToken, c.RefreshToken = "sntryu_REFRESHED_ACCESS_abcdef", "sntryr_REFRESHED_REFRESH_abcdef"
		if err := cs.Save(c); err != nil {
			t.Fatal(err)
		}
		secretsAtRest := []string{
			"sntryu_ACCESS_rest", "sntryr_REFRESH_rest", "sntrya_UPSTREAM_SECRET",
			"sntryu_REFRESHED_ACCESS", "sntryr_REFRESHED_REFRESH",
			"mcp_CODE_secret_value", "mcp_ACCESS_secret_value", "mcp_REFRESH_secret_value",
			"STATE_secret_value", "VERIFIER_secret_value_0123456789abcdef0123456",
		}
		exp := time.Now().Add(time.Hour)
		if err := db.PutCode(ctx, "mcp_CODE_secret_value", &Code{GrantID: g.ID, ClientID: "c", RedirectURI: "http://127.0.0.1/cb", Challenge: "ch", Resource: "/mcp", Scopes: []string{"org:read"}, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UseCode(ctx, "mcp_CODE_secret_value"); err != nil {
			t.Fatal(err)
		}
		for tok, kind := range map[string]string{"mcp_ACCESS_secret_value": "access", "mcp_REFRESH_secret_value": "refresh"} {
			if err := db.PutToken(ctx, tok, &Token{Kind: kind, GrantID: g.ID, ClientID: "c", Resource: "/mcp", Expires: exp}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.PutPending(ctx, "STATE_secret_value", &Pending{ClientID: "c", Verifier: "VERIFIER_secret_value_0123456789abcdef0123456", Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := db.PutPending(ctx, "STATE_secret_value_2", &Pending{ClientID: "c", Verifier: "VERIFIER_secret_value_0123456789abcdef0123456", Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakePending(ctx, "STATE_secret_value_2"); err != nil {
			t.Fatal(err)
		}

		// What the scan must find (the non-secret fields are there), so that
		// it is known to look at the data.
		plain := []string{"Jane rest", "http://127.0.0.1/cb"}
		check := func(when string, parts map[string][]byte) {
			t.Helper()
			all := []byte{}
			for name, b := range parts {
				all = append(all, b...)
				for _, s := range secretsAtRest {
					if bytes.Contains(b, []byte(s)) {
						t.Errorf("%s: %s contains %q", when, name, s)
					}
				}
			}
			for _, s := range plain {
				if !bytes.Contains(all, []byte(s)) {
					t.Errorf("%s: the data (%d bytes) does not hold %q; the scan is not looking at the data", when, len(all), s)
				}
			}
		}
		if b.postgres() {
			// The raw values of every column of every table (bytea as its
			// bytes, text as its characters).
			check("tables", rawTables(t, db))
			return
		}
		files := func() map[string][]byte {
			paths, _ := filepath.Glob(dsn + "*")
			out := map[string][]byte{}
			for _, f := range paths {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out[filepath.Base(f)] = b
			}
			return out
		}
		check("open (WAL)", files())
		db.Close()
		check("closed (checkpointed)", files())
	})
}

// rawTables is the raw bytes of every value in every table of db's
// schema, by table.
func rawTables(t *testing.T, db *DB) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	rows, err := db.sql.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 6 {
		t.Fatalf("only the tables %v", tables)
	}
	out := map[string][]byte{}
	for _, table := range tables {
		rows, err := db.sql.QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out[table] = append(out[table], v...)
				case string:
					out[table] = append(out[table], v...)
				default:
					out[table] = fmt.Append(out[table], v)
				}
				out[table] = append(out[table], 0)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}

func TestClients(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		pub := &Client{ID: "c_pub", Name: "Public", RedirectURIs: []string{"http://127.0.0.1/cb", "https://app.example/cb"}, AuthMethod: "none"}
		conf := &Client{ID: "c_conf", Name: "Confidential", RedirectURIs: []string{"https://app.example/cb"}, SecretHash: HashToken("s"), AuthMethod: "client_secret_basic", Created: time.UnixMilli(1_700_000_000_000)}
		for _, c := range []*Client{pub, conf} {
			if err := db.CreateClient(ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := db.Client(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *c
			want.Created = c.Created.Truncate(time.Millisecond)
			got.Created = got.Created.Truncate(time.Millisecond)
			if !reflect.DeepEqual(got, &want) || !got.Created.Equal(want.Created) {
				t.Errorf("Client = %+v, want %+v", got, want)
			}
		}
		if pub.Created.IsZero() {
			t.Error("Created not set")
		}
		if _, err := db.Client(ctx, "c_none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown client: %v", err)
		}
		for name, c := range map[string]*Client{
			"duplicate":           {ID: "c_pub", AuthMethod: "none"},
			"no id":               {AuthMethod: "none"},
			"unknown method":      {ID: "x", AuthMethod: "private_key_jwt"},
			"public with secret":  {ID: "y", AuthMethod: "none", SecretHash: HashToken("s")},
			"secret without hash": {ID: "z", AuthMethod: "client_secret_post"},
		} {
			if err := db.CreateClient(ctx, c); err == nil {
				t.Errorf("%s: CreateClient succeeded", name)
			}
		}
	})
}

func TestTakePending(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		p := &Pending{ClientID: "c", ClientName: "C", RedirectURI: "http://127.0.0.1:3000/cb", ClientState: "xyz", CodeChallenge: "chal",
			Resource: "/mcp/acme", Org: "acme", Scopes: []string{"org:read"}, Verifier: "verifier-0123456789",
			Browser: HashToken("cookie"), Expires: time.Now().Add(10 * time.Minute).Truncate(time.Millisecond)}
		if err := db.PutPending(ctx, "state-1", p); err != nil {
			t.Fatal(err)
		}
		got, err := db.TakePending(ctx, "state-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, p) && !(got.Expires.Equal(p.Expires) && reflect.DeepEqual(withoutTime(got), withoutTime(p))) {
			t.Errorf("TakePending = %+v, want %+v", got, p)
		}
		if _, err := db.TakePending(ctx, "state-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second take: %v", err)
		}
		if _, err := db.TakePending(ctx, "state-unknown"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown state: %v", err)
		}
		expired := *p
		expired.Expires = time.Now().Add(-time.Second)
		if err := db.PutPending(ctx, "state-old", &expired); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakePending(ctx, "state-old"); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired state: %v", err)
		}
		var n int
		db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM pending`).Scan(&n)
		if n != 0 {
			t.Errorf("%d pending rows left; an expired one is deleted when taken", n)
		}

		// Concurrent takes of one state: exactly one wins.
		if err := db.PutPending(ctx, "state-race", p); err != nil {
			t.Fatal(err)
		}
		wins := race(t, 8, func() error { _, err := db.TakePending(ctx, "state-race"); return err }, ErrNotFound)
		if wins != 1 {
			t.Errorf("%d concurrent takes succeeded, want 1", wins)
		}

		// The verifier is sealed to its state: moved to another row it fails.
		for _, s := range []string{"state-a", "state-b"} {
			if err := db.PutPending(ctx, s, p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.sql.ExecContext(ctx, `UPDATE pending SET verifier = (SELECT verifier FROM pending WHERE state_hash = $1) WHERE state_hash = $2`, HashToken("state-a"), HashToken("state-b")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakePending(ctx, "state-b"); err == nil {
			t.Error("a verifier moved to another state decrypted")
		}
	})
}

func withoutTime(p *Pending) Pending { c := *p; c.Expires = time.Time{}; return c }

// race runs f n times at once and returns how many returned nil; every
// other result must be allowed.
func race(t *testing.T, n int, f func() error, allowed error) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, allowed):
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins
}

func TestUseCode(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("code"))
		c := &Code{GrantID: g.ID, ClientID: "c", RedirectURI: "http://127.0.0.1/cb", Challenge: "chal", Resource: "/mcp",
			Scopes: []string{"org:read", "event:read"}, Expires: time.Now().Add(time.Minute).Truncate(time.Millisecond)}
		if err := db.PutCode(ctx, "code-1", c); err != nil {
			t.Fatal(err)
		}
		got, err := db.UseCode(ctx, "code-1")
		if err != nil || !reflect.DeepEqual(got, c) && !(got.Expires.Equal(c.Expires) && got.GrantID == c.GrantID && reflect.DeepEqual(got.Scopes, c.Scopes)) {
			t.Fatalf("first use = %+v, %v", got, err)
		}
		got, err = db.UseCode(ctx, "code-1")
		if !errors.Is(err, ErrReplayed) || got == nil || got.GrantID != g.ID {
			t.Errorf("second use = %+v, %v; want the code and ErrReplayed", got, err)
		}
		if _, err := db.UseCode(ctx, "code-unknown"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}
		old := *c
		old.Expires = time.Now().Add(-time.Second)
		if err := db.PutCode(ctx, "code-old", &old); err != nil {
			t.Fatal(err)
		}
		if got, err := db.UseCode(ctx, "code-old"); !errors.Is(err, ErrNotFound) || got != nil {
			t.Errorf("expired code = %+v, %v", got, err)
		}
		if err := db.PutCode(ctx, "code-x", &Code{GrantID: "g_missing", Expires: c.Expires}); err == nil {
			t.Error("a code for a missing grant was stored (foreign keys off?)")
		}

		// Concurrent uses: exactly one succeeds, the others see a replay.
		if err := db.PutCode(ctx, "code-race", c); err != nil {
			t.Fatal(err)
		}
		if wins := race(t, 8, func() error { _, err := db.UseCode(ctx, "code-race"); return err }, ErrReplayed); wins != 1 {
			t.Errorf("%d concurrent uses succeeded, want 1", wins)
		}
	})
}

func TestTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("tok"))
		exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		access := &Token{Kind: "access", GrantID: g.ID, ClientID: "c", Resource: "/mcp/acme", Scopes: []string{"org:read"}, Expires: exp}
		if err := db.PutToken(ctx, "at-1", access); err != nil {
			t.Fatal(err)
		}
		got, err := db.LookupToken(ctx, "at-1")
		if err != nil || got.Kind != "access" || got.GrantID != g.ID || got.Resource != "/mcp/acme" || !got.Expires.Equal(exp) || !reflect.DeepEqual(got.Scopes, access.Scopes) || got.Parent != nil {
			t.Fatalf("LookupToken = %+v, %v", got, err)
		}
		if _, _, err := db.LookupRefresh(ctx, "at-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an access token looked up as a refresh token: %v", err)
		}
		old := *access
		old.Expires = time.Now().Add(-time.Second)
		if err := db.PutToken(ctx, "at-old", &old); err != nil {
			t.Fatal(err)
		}
		if _, err := db.LookupToken(ctx, "at-old"); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired token: %v", err)
		}
		if err := db.DeleteToken(ctx, "at-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.LookupToken(ctx, "at-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted token: %v", err)
		}
		if err := db.DeleteToken(ctx, "at-1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		for name, bad := range map[string]*Token{
			"kind":          {Kind: "id", GrantID: g.ID, Expires: exp},
			"access parent": {Kind: "access", GrantID: g.ID, Expires: exp, Parent: HashToken("x")},
			"no expiry":     {Kind: "access", GrantID: g.ID},
			"no grant":      {Kind: "access", Expires: exp},
		} {
			if err := db.PutToken(ctx, "bad-"+name, bad); err == nil {
				t.Errorf("%s: PutToken succeeded", name)
			}
		}
	})
}

func TestRotateRefresh(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("rt"))
		exp := time.Now().Add(24 * time.Hour)
		if err := db.PutToken(ctx, "R0", &Token{Kind: "refresh", GrantID: g.ID, ClientID: "c", Resource: "/mcp", Scopes: []string{"org:read"}, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		n := 0
		rotate := func(old, client string) (string, error) {
			t.Helper()
			n++
			next := Rotation{Access: fmt.Sprintf("A%d", n), Refresh: fmt.Sprintf("R%d", n), AccessExpires: exp, RefreshExpires: exp, Scopes: []string{"org:read"}}
			_, err := db.RotateRefresh(ctx, old, client, next)
			return next.Refresh, err
		}
		state := func(tok string) string {
			t.Helper()
			_, retired, err := db.LookupRefresh(ctx, tok)
			switch {
			case errors.Is(err, ErrNotFound):
				return "gone"
			case err != nil:
				t.Fatal(err)
			case retired:
				return "retired"
			}
			return "live"
		}
		if _, err := rotate("R0", "other-client"); !errors.Is(err, ErrNotFound) {
			t.Errorf("another client's rotation: %v", err)
		}
		r1, err := rotate("R0", "c")
		if err != nil {
			t.Fatal(err)
		}
		if state("R0") != "live" || state(r1) != "live" {
			t.Errorf("after R0 -> R1: R0 %s, R1 %s; want both live (R1 may not have arrived)", state("R0"), state(r1))
		}
		a1 := "A" + strings.TrimPrefix(r1, "R")
		if a, err := db.LookupToken(ctx, a1); err != nil || a.Kind != "access" || a.GrantID != g.ID {
			t.Errorf("the access token of R1: %+v %v", a, err)
		}
		// R0 again (the answer was lost): R1 is retired, its access token goes;
		// one live chain.
		r1b, err := rotate("R0", "c")
		if err != nil {
			t.Fatal(err)
		}
		if state(r1) != "retired" || state(r1b) != "live" {
			t.Errorf("after a retried R0: first successor %s, second %s", state(r1), state(r1b))
		}
		if _, err := db.LookupToken(ctx, a1); !errors.Is(err, ErrNotFound) {
			t.Errorf("the access token of a replaced successor: %v", err)
		}
		// Whoever presents the replaced successor has leaked it.
		if tok, err := rotate(r1, "c"); !errors.Is(err, ErrRetired) || state(tok) != "gone" {
			t.Errorf("a replaced successor: %v (new token %s)", err, state(tok))
		}
		// Using the successor retires R0: from then on R0 is a leak.
		r3, err := rotate(r1b, "c")
		if err != nil {
			t.Fatal(err)
		}
		if state("R0") != "retired" || state(r1b) != "live" || state(r3) != "live" {
			t.Errorf("after R1b -> R3: R0 %s, R1b %s, R3 %s", state("R0"), state(r1b), state(r3))
		}
		if _, err := rotate("R0", "c"); !errors.Is(err, ErrRetired) {
			t.Errorf("R0 after its successor was used: %v", err)
		}
		if _, err := db.LookupToken(ctx, "R0"); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupToken finds a retired token: %v", err)
		}
		// An expired refresh token rotates nothing.
		if err := db.PutToken(ctx, "R-old", &Token{Kind: "refresh", GrantID: g.ID, ClientID: "c", Expires: time.Now().Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, err := rotate("R-old", "c"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an expired refresh token: %v", err)
		}
	})
}

// Two refreshes of one token racing leave one live chain: the second
// retires what the first issued.
func TestRotateRefreshRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("race"))
		exp := time.Now().Add(time.Hour)
		if err := db.PutToken(ctx, "R0", &Token{Kind: "refresh", GrantID: g.ID, ClientID: "c", Expires: exp}); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				_, err := db.RotateRefresh(ctx, "R0", "c", Rotation{Access: fmt.Sprint("A", i), Refresh: fmt.Sprint("R", i+1), AccessExpires: exp, RefreshExpires: exp})
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		var live int
		db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE kind = 'refresh' AND parent = $1 AND retired_ms = 0`, HashToken("R0")).Scan(&live)
		var access int
		db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE kind = 'access' AND parent = $1`, HashToken("R0")).Scan(&access)
		if live != 1 || access != 1 {
			t.Errorf("%d live successors and %d access tokens of R0, want 1 and 1", live, access)
		}
	})
}

func TestDeleteGrant(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("del"))
		keep := mustCreateGrant(t, db, testGrant("keep"))
		exp := time.Now().Add(time.Hour)
		for _, id := range []string{g.ID, keep.ID} {
			if err := db.PutCode(ctx, "code-"+id, &Code{GrantID: id, Expires: exp}); err != nil {
				t.Fatal(err)
			}
			for _, kind := range []string{"access", "refresh"} {
				if err := db.PutToken(ctx, kind+"-"+id, &Token{Kind: kind, GrantID: id, Expires: exp}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := db.DeleteGrant(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Grant(ctx, g.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted grant: %v", err)
		}
		if _, err := db.UseCode(ctx, "code-"+g.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("code of the deleted grant: %v", err)
		}
		for _, kind := range []string{"access", "refresh"} {
			if _, err := db.LookupToken(ctx, kind+"-"+g.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s token of the deleted grant: %v", kind, err)
			}
			if _, err := db.LookupToken(ctx, kind+"-"+keep.ID); err != nil {
				t.Errorf("%s token of the other grant: %v", kind, err)
			}
		}
		if _, err := db.UseCode(ctx, "code-"+keep.ID); err != nil {
			t.Errorf("code of the other grant: %v", err)
		}
		if err := db.DeleteGrant(ctx, g.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestDeleteExpired(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		g := mustCreateGrant(t, db, testGrant("exp"))
		past, future := time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
		for i, exp := range []time.Time{past, future} {
			s := string(rune('a' + i))
			if err := db.PutPending(ctx, "state-"+s, &Pending{Verifier: "v", Expires: exp}); err != nil {
				t.Fatal(err)
			}
			if err := db.PutCode(ctx, "code-"+s, &Code{GrantID: g.ID, Expires: exp}); err != nil {
				t.Fatal(err)
			}
			if err := db.PutToken(ctx, "at-"+s, &Token{Kind: "access", GrantID: g.ID, Expires: exp}); err != nil {
				t.Fatal(err)
			}
			if err := db.PutToken(ctx, "rt-"+s, &Token{Kind: "refresh", GrantID: g.ID, Expires: exp}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.sql.ExecContext(ctx, `INSERT INTO locks (name, holder, expires_ms) VALUES ($1, 'h', $2)`, "lock-"+s, ms(exp)); err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.DeleteExpired(ctx)
		if err != nil || n != 5 {
			t.Fatalf("DeleteExpired = %d, %v; want 5", n, err)
		}
		for _, table := range []string{"pending", "codes", "tokens", "locks"} {
			var left, expired int
			db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&left)
			db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE expires_ms <= $1`, ms(time.Now())).Scan(&expired)
			if want := map[string]int{"tokens": 2}[table]; left != max(want, 1) || expired != 0 {
				t.Errorf("%s: %d rows left (%d expired)", table, left, expired)
			}
		}
		if _, err := db.Grant(ctx, g.ID); err != nil {
			t.Errorf("the grant was deleted: %v", err)
		}
		if n, err := db.DeleteExpired(ctx); err != nil || n != 0 {
			t.Errorf("second DeleteExpired = %d, %v", n, err)
		}
	})
}

// A grant nothing refers to any more goes after an hour, with its Sentry
// tokens; a fresh one (its code about to be exchanged) stays.
func TestDeleteExpiredUnusedGrants(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		db := newDB(t, b)
		old := mustCreateGrant(t, db, testGrant("old"))
		fresh := mustCreateGrant(t, db, testGrant("fresh"))
		used := mustCreateGrant(t, db, testGrant("used"))
		if err := db.PutToken(ctx, "rt-used", &Token{Kind: "refresh", GrantID: used.ID, Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{old.ID, used.ID} {
			if _, err := db.sql.ExecContext(ctx, `UPDATE grants SET created_ms = $1 WHERE id = $2`, ms(time.Now().Add(-2*time.Hour)), id); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.DeleteExpired(ctx); err != nil || n != 1 {
			t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
		}
		if _, err := db.Grant(ctx, old.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("the unused old grant: %v", err)
		}
		for _, g := range []*Grant{fresh, used} {
			if _, err := db.Grant(ctx, g.ID); err != nil {
				t.Errorf("grant %s: %v", g.ID, err)
			}
		}
	})
}
