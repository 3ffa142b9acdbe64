// Package secrets holds the hosted server's encryption keys
// (SENTRY_MCP_ENCRYPTION_KEY): AES-256-GCM for secrets at rest and HMAC
// subkeys for tokens such as CSRF protection. Key material never appears in
// errors, logs or formatted output.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// keySize is the size of every key, in bytes (AES-256).
const keySize = 32

// defaultKeyID is the id of a key given without one.
const defaultKeyID = "default"

// nonceSize is the GCM standard nonce size (96 bits).
const nonceSize = 12

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// Keys are the encryption keys (SENTRY_MCP_ENCRYPTION_KEY), newest first.
type Keys struct {
	keys []key // newest first; never empty
}

type key struct {
	id     string
	secret []byte
	aead   cipher.AEAD
}

// ParseKeys parses "base64-of-32-bytes" (key id "default") or
// "kid:base64,kid:base64,..." (newest first). Base64 may be standard or URL
// encoding, padded or not. Errors say what is wrong without echoing key
// material.
func ParseKeys(s string) (*Keys, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("encryption key: empty; want base64 of 32 random bytes (e.g. `openssl rand -base64 32`), or kid:base64,... newest first")
	}
	parts := strings.Split(s, ",")
	k := &Keys{}
	seen := map[string]bool{}
	for i, part := range parts {
		part = strings.TrimSpace(part)
		n := i + 1
		if part == "" {
			return nil, fmt.Errorf("encryption key: entry %d of %d is empty", n, len(parts))
		}
		id, b64, hasID := strings.Cut(part, ":")
		if !hasID {
			if len(parts) > 1 {
				return nil, fmt.Errorf("encryption key: entry %d of %d has no key id; with several keys write kid:base64,kid:base64 (newest first)", n, len(parts))
			}
			id, b64 = defaultKeyID, part
		}
		if !keyIDPattern.MatchString(id) {
			// The id is not echoed: a mistyped entry could put key material there.
			return nil, fmt.Errorf("encryption key: entry %d of %d: the key id must be 1 to 32 letters, digits, '.', '_' or '-'", n, len(parts))
		}
		if seen[id] {
			return nil, fmt.Errorf("encryption key: key id %q appears twice", id)
		}
		seen[id] = true
		secret, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("encryption key %q: %w", id, err)
		}
		kk, err := newKey(id, secret)
		if err != nil {
			return nil, fmt.Errorf("encryption key %q: %w", id, err)
		}
		k.keys = append(k.keys, kk)
	}
	return k, nil
}

// decodeKey decodes base64 (standard or URL alphabet, padded or not) of
// exactly keySize bytes.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("no key after the key id")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != keySize {
			return nil, fmt.Errorf("decodes to %d bytes, want %d (e.g. `openssl rand -base64 32`)", len(b), keySize)
		}
		return b, nil
	}
	return nil, fmt.Errorf("not valid base64 (want base64 of %d random bytes, e.g. `openssl rand -base64 32`)", keySize)
}

func newKey(id string, secret []byte) (key, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return key{}, errors.New("unusable AES key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, errors.New("unusable AES-GCM key")
	}
	return key{id: id, secret: secret, aead: aead}, nil
}

// Ephemeral returns a random key (for --demo and tests). Its id is
// "ephemeral".
func Ephemeral() *Keys {
	secret := make([]byte, keySize)
	rand.Read(secret) // never fails (crypto/rand)
	kk, err := newKey("ephemeral", secret)
	if err != nil {
		panic("secrets: AES-GCM is unavailable")
	}
	return &Keys{keys: []key{kk}}
}

// Seal encrypts with the newest key: AES-256-GCM, random 96-bit nonce, aad
// bound (e.g. "grant:<id>:access_token"). It returns the key id used and
// nonce||ciphertext.
func (k *Keys) Seal(plaintext []byte, aad string) (kid string, sealed []byte, err error) {
	if k == nil || len(k.keys) == 0 {
		return "", nil, errors.New("no encryption key loaded")
	}
	kk := k.keys[0]
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+kk.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return "", nil, fmt.Errorf("generating a nonce: %w", err)
	}
	return kk.id, kk.aead.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

// Open decrypts with key kid (falling back to the other keys if kid is
// unknown); wrong aad fails.
func (k *Keys) Open(kid string, sealed []byte, aad string) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, errors.New("no encryption key loaded")
	}
	if len(sealed) < nonceSize+k.keys[0].aead.Overhead() {
		return nil, errors.New("decrypting: the stored value is too short to be sealed data")
	}
	nonce, ct := sealed[:nonceSize], sealed[nonceSize:]
	for _, kk := range k.keys {
		if kk.id != kid {
			continue
		}
		pt, err := kk.aead.Open(nil, nonce, ct, []byte(aad))
		if err != nil {
			return nil, fmt.Errorf("decrypting with key %q failed: the stored value was altered, belongs to another record, or key %q is not the key it was sealed with", kid, kid)
		}
		return pt, nil
	}
	for _, kk := range k.keys {
		if pt, err := kk.aead.Open(nil, nonce, ct, []byte(aad)); err == nil {
			return pt, nil
		}
	}
	return nil, fmt.Errorf("the value was sealed with encryption key %q, which is not configured (configured: %s); add it to SENTRY_MCP_ENCRYPTION_KEY after the newest key", kid, strings.Join(k.ids(), ", "))
}

// Newest is the key id Seal uses.
func (k *Keys) Newest() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].id
}

// MAC is HMAC-SHA256 under a subkey of the newest key derived for purpose
// (e.g. "csrf"), so MACs for different purposes never match.
func (k *Keys) MAC(purpose string, data []byte) []byte {
	if k == nil || len(k.keys) == 0 {
		panic("secrets: MAC without a key")
	}
	sub, err := hkdf.Key(sha256.New, k.keys[0].secret, nil, "sentry-mcp mac "+purpose, sha256.Size)
	if err != nil {
		panic("secrets: deriving a MAC subkey: " + err.Error())
	}
	m := hmac.New(sha256.New, sub)
	m.Write(data)
	return m.Sum(nil)
}

func (k *Keys) ids() []string {
	out := make([]string, len(k.keys))
	for i, kk := range k.keys {
		out[i] = kk.id
	}
	return out
}

// String names the key ids, never key material.
func (k Keys) String() string {
	return "secrets.Keys{ids: [" + strings.Join(k.ids(), " ") + "]}"
}

// GoString is String (for %#v).
func (k Keys) GoString() string { return k.String() }

// Format makes every fmt verb go through String, so no verb prints key
// material.
func (k Keys) Format(f fmt.State, verb rune) {
	io.WriteString(f, k.String())
}

// LogValue logs the key ids only.
func (k Keys) LogValue() slog.Value {
	return slog.GroupValue(slog.String("newest", k.Newest()), slog.String("ids", strings.Join(k.ids(), ",")))
}

var (
	_ fmt.Stringer   = Keys{}
	_ fmt.GoStringer = Keys{}
	_ fmt.Formatter  = Keys{}
	_ slog.LogValuer = Keys{}
)
