package auth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"
)

// Credential is one stored sign-in for one Sentry host. It is stored as one
// compact JSON document (about 400 bytes; Windows' credential manager takes at
// most 2560).
//
// Credential redacts AccessToken, RefreshToken and ClientSecret whenever it is
// formatted with fmt (any verb, %#v included) or logged with slog, so an
// accidental print never leaks a token. encoding/json still writes them: that
// is how they are stored.
type Credential struct {
	Host         string          `json:"host"` // normalised base URL, e.g. "https://sentry.io"
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token,omitempty"`
	TokenType    string          `json:"token_type,omitempty"`
	Expiry       time.Time       `json:"expiry,omitzero"`
	Scopes       []string        `json:"scopes,omitempty"` // granted scopes
	User         *CredentialUser `json:"user,omitempty"`
	ClientID     string          `json:"client_id,omitempty"`
	ClientSecret string          `json:"client_secret,omitempty"` // needed to refresh (Sentry requires it)
	Kind         string          `json:"kind,omitempty"`          // "oauth" or "token" (pasted token, cannot refresh)
	Obtained     time.Time       `json:"obtained,omitzero"`       // when AccessToken was issued, if known
	// RequestedScopes are the scopes `auth login` asked for. Scopes Sentry
	// granted beyond them are not used (see EffectiveScopes). nil for
	// credentials saved by releases that did not record them.
	RequestedScopes []string `json:"requested_scopes,omitempty"`
	// RefreshRefused is when Sentry refused to refresh this grant
	// (invalid_grant): its token is used until it expires, then a new
	// sign-in is needed. No process refreshes it again.
	RefreshRefused time.Time `json:"refresh_refused,omitzero"`
}

// EffectiveScopes are the scopes the server may use: the granted scopes
// (hierarchy-expanded) narrowed to what was requested at sign-in (also
// expanded). A credential without RequestedScopes (saved by an older
// release, or a pasted token) uses its granted scopes. nil means unknown.
func (c *Credential) EffectiveScopes() []string {
	if c.Scopes == nil {
		if c.RequestedScopes == nil {
			return nil
		}
		return Expand(c.RequestedScopes)
	}
	granted := Expand(c.Scopes)
	if c.RequestedScopes == nil {
		return granted
	}
	asked := map[string]bool{}
	for _, s := range Expand(c.RequestedScopes) {
		asked[s] = true
	}
	out := []string{}
	for _, s := range granted {
		if asked[s] {
			out = append(out, s)
		}
	}
	return out
}

// CredentialUser is the Sentry user a credential belongs to.
type CredentialUser struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Credential kinds.
const (
	KindOAuth = "oauth" // from the OAuth device flow; can be refreshed
	KindToken = "token" // a pasted auth token; cannot be refreshed
)

// ErrNotFound is returned by Store.Load and Store.Delete when no credential is
// stored for the host. It is returned unwrapped.
var ErrNotFound = errors.New("no stored credential")

// Store keeps credentials, one per Sentry host.
type Store interface {
	Load(host string) (*Credential, error) // ErrNotFound when none
	Save(c *Credential) error              // keyed by c.Host
	Delete(host string) error              // ErrNotFound when none
	Location() string                      // "keyring" or the file path, for `auth status`
}

// StoreOptions configures OpenStore.
type StoreOptions struct {
	ConfigDir      string        // default: $XDG_CONFIG_HOME/sentry-mcp, else ~/.config/sentry-mcp
	Insecure       bool          // force the plain file (--insecure-storage)
	KeyringTimeout time.Duration // default 3s
	Logger         *slog.Logger  // warnings go here (nil = discard)
}

// DefaultKeyringTimeout bounds every keyring call when no timeout is given.
const DefaultKeyringTimeout = 3 * time.Second

// credentialsFile is the name of the plain-text fallback inside ConfigDir.
const credentialsFile = "credentials.json"

// LocationKeyring is what Store.Location returns for the OS keyring.
const LocationKeyring = "keyring"

// Dir returns the resolved configuration directory: ConfigDir when set, else
// $XDG_CONFIG_HOME/sentry-mcp, else ~/.config/sentry-mcp. It returns "" only
// when no home directory can be found at all.
func (o StoreOptions) Dir() string {
	if o.ConfigDir != "" {
		return o.ConfigDir
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "sentry-mcp")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		if u, uerr := user.Current(); uerr == nil && u.HomeDir != "" {
			home = u.HomeDir
		} else {
			return ""
		}
	}
	return filepath.Join(home, ".config", "sentry-mcp")
}

func (o StoreOptions) timeout() time.Duration {
	if o.KeyringTimeout <= 0 {
		return DefaultKeyringTimeout
	}
	return o.KeyringTimeout
}

func (o StoreOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o StoreOptions) filePath() string {
	dir := o.Dir()
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, credentialsFile)
}

// OpenStore returns the store a process uses for existing credentials.
// When the OS keyring is usable (decided once, here, by reading a
// host-independent probe entry, bounded by KeyringTimeout) it returns a
// store that serves each host from where its credential was saved: from the
// plain file ConfigDir/credentials.json when the file holds one for the
// host (so processes with and without a keyring share it), else from the
// keyring; it never moves a credential between the two. Otherwise it
// returns the file store. Choosing the store for a new sign-in is
// SaveLogin's job.
//
// Nothing is logged here: the warning that a secret is stored in plain text
// is logged when one is written to the file.
func OpenStore(opts StoreOptions) Store {
	return openStore(opts, defaultKeyringEnv())
}

func openStore(opts StoreOptions, env keyringEnv) Store {
	log := opts.logger()
	file := newFileStore(opts.filePath(), log)
	if ks, reason := usableKeyring(opts, env); ks != nil {
		file.why = "this sign-in was saved there (run `sentry-mcp auth login` to move it to the OS keyring)"
		ks.file = file
		return ks
	} else {
		file.why = reason
	}
	return file
}

// usableKeyring returns the keyring store when it may be used, else why not.
func usableKeyring(opts StoreOptions, env keyringEnv) (*keyringStore, string) {
	if opts.Insecure {
		return nil, "--insecure-storage was requested"
	}
	ks := newKeyringStore(env, opts.timeout())
	if err := ks.probe(); err != nil {
		return nil, "the OS keyring is not usable: " + err.Error()
	}
	return ks, ""
}

// NewFileStore returns a Store backed by one JSON file at path (normally
// ConfigDir/credentials.json), mode 0600 in a 0700 directory.
func NewFileStore(path string) Store {
	return newFileStore(path, nil)
}

// NewKeyringStore returns a Store backed by the OS keyring (service
// "sentry-mcp", account = host). Every keyring call is bounded by timeout
// (DefaultKeyringTimeout when <= 0). Unlike OpenStore's keyring store it never
// looks at the plain-text file.
func NewKeyringStore(timeout time.Duration) Store {
	if timeout <= 0 {
		timeout = DefaultKeyringTimeout
	}
	return newKeyringStore(defaultKeyringEnv(), timeout)
}

// hostKey is the key a credential is stored under: the host with blanks and
// trailing slashes removed, so "https://sentry.io/" and "https://sentry.io"
// are the same entry.
func hostKey(host string) (string, error) {
	k := strings.TrimRight(strings.TrimSpace(host), "/")
	if k == "" {
		return "", errors.New("credential store: empty host")
	}
	return k, nil
}

// prepare checks c and returns its key and a copy whose Host is the key.
func prepare(c *Credential) (string, *Credential, error) {
	if c == nil {
		return "", nil, errors.New("credential store: nil credential")
	}
	key, err := hostKey(c.Host)
	if err != nil {
		return "", nil, err
	}
	if c.AccessToken == "" {
		return "", nil, fmt.Errorf("credential store: refusing to save a credential for %s without an access token", key)
	}
	cp := *c
	cp.Host = key
	return key, &cp, nil
}

// --- redaction ---

const redacted = "[REDACTED]"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes c with its tokens and client secret redacted.
func (c Credential) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Credential{Host:%s Kind:%s AccessToken:%s RefreshToken:%s TokenType:%s Expiry:%s Scopes:%v",
		c.Host, c.Kind, redact(c.AccessToken), redact(c.RefreshToken), c.TokenType, expiryString(c.Expiry), c.Scopes)
	if c.User != nil {
		fmt.Fprintf(&b, " User:{ID:%s Name:%s Email:%s}", c.User.ID, c.User.Name, c.User.Email)
	}
	fmt.Fprintf(&b, " ClientID:%s ClientSecret:%s}", c.ClientID, redact(c.ClientSecret))
	return b.String()
}

// GoString is like String in Go syntax (for %#v), with secrets redacted.
func (c Credential) GoString() string {
	u := "nil"
	if c.User != nil {
		u = fmt.Sprintf("&auth.CredentialUser{ID:%q, Name:%q, Email:%q}", c.User.ID, c.User.Name, c.User.Email)
	}
	return fmt.Sprintf("auth.Credential{Host:%q, AccessToken:%q, RefreshToken:%q, TokenType:%q, Expiry:%q, Scopes:%#v, User:%s, ClientID:%q, ClientSecret:%q, Kind:%q}",
		c.Host, redact(c.AccessToken), redact(c.RefreshToken), c.TokenType, expiryString(c.Expiry), c.Scopes, u, c.ClientID, redact(c.ClientSecret), c.Kind)
}

// Format makes every fmt verb (not only %v and %s, but also %d, %x, %#v...)
// go through String or GoString, so no verb prints the raw fields.
func (c Credential) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, c.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), c.String())
}

// LogValue makes slog log c as a group without its secrets.
func (c Credential) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("host", c.Host),
		slog.String("kind", c.Kind),
		slog.String("access_token", redact(c.AccessToken)),
		slog.String("refresh_token", redact(c.RefreshToken)),
	}
	if !c.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", c.Expiry))
	}
	if len(c.Scopes) > 0 {
		attrs = append(attrs, slog.String("scopes", strings.Join(c.Scopes, " ")))
	}
	if c.User != nil {
		attrs = append(attrs, slog.Group("user", "id", c.User.ID, "name", c.User.Name, "email", c.User.Email))
	}
	if c.ClientID != "" {
		attrs = append(attrs, slog.String("client_id", c.ClientID))
	}
	if c.ClientSecret != "" {
		attrs = append(attrs, slog.String("client_secret", redacted))
	}
	return slog.GroupValue(attrs...)
}

func expiryString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

var (
	_ fmt.Stringer   = Credential{}
	_ fmt.GoStringer = Credential{}
	_ fmt.Formatter  = Credential{}
	_ slog.LogValuer = Credential{}
)
