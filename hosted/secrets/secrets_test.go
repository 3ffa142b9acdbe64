package secrets_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/hosted/secrets"
)

// keyB64 is a fixed 32-byte key in standard base64.
func keyB64(fill byte) []byte {
	return bytes.Repeat([]byte{fill}, 32)
}

func std(b []byte) string    { return base64.StdEncoding.EncodeToString(b) }
func rawURL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustParse(t *testing.T, s string) *secrets.Keys {
	t.Helper()
	k, err := secrets.ParseKeys(s)
	if err != nil {
		t.Fatalf("ParseKeys: %v", err)
	}
	return k
}

func TestParseKeys(t *testing.T) {
	// 0xfb bytes make '+' and '/' (std) differ from '-' and '_' (URL).
	a, b := keyB64(0xfb), keyB64(0x01)
	for _, tc := range []struct {
		name, in, newest string
		wantErr          string
	}{
		{"single std", std(a), "default", ""},
		{"single raw url", rawURL(a), "default", ""},
		{"single with blanks", "  " + std(a) + "\n", "default", ""},
		{"list", "b:" + std(b) + ",a:" + rawURL(a), "b", ""},
		{"list with spaces", "k2.x_y-z: " + std(b) + " , k1:" + std(a), "k2.x_y-z", ""},
		{"one entry with id", "only:" + std(a), "only", ""},
		{"empty", "", "", "empty"},
		{"short key", std(a[:16]), "", "decodes to 16 bytes, want 32"},
		{"long key", std(append(a, 1)), "", "decodes to 33 bytes, want 32"},
		{"not base64", "!!!!not-base64!!!!", "", "not valid base64"},
		{"duplicate id", "a:" + std(a) + ",a:" + std(b), "", `key id "a" appears twice`},
		{"missing id in list", "a:" + std(a) + "," + std(b), "", "entry 2 of 2 has no key id"},
		{"bad id", "bad id!:" + std(a), "", "entry 1 of 1: the key id must be"},
		{"id too long", strings.Repeat("x", 33) + ":" + std(a), "", "the key id must be"},
		{"empty entry", "a:" + std(a) + ",,b:" + std(b), "", "entry 2 of 3 is empty"},
		{"id without key", "a:", "", "no key after the key id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := secrets.ParseKeys(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				for _, key := range [][]byte{a, b} {
					for _, enc := range []string{std(key), rawURL(key), std(key[:16])} {
						if strings.Contains(err.Error(), enc) {
							t.Errorf("error echoes key material: %v", err)
						}
					}
				}
				if strings.Contains(err.Error(), "not-base64") {
					t.Errorf("error echoes the input: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Newest(); got != tc.newest {
				t.Errorf("Newest = %q, want %q", got, tc.newest)
			}
		})
	}
}

// The same key in std and raw URL base64 seals and opens interchangeably.
func TestEncodingsAreTheSameKey(t *testing.T) {
	a := keyB64(0xfb)
	k1, k2 := mustParse(t, std(a)), mustParse(t, rawURL(a))
	kid, sealed, err := k1.Seal([]byte("hello"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.Open(kid, sealed, "x"); err != nil || string(pt) != "hello" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
}

func TestSealOpen(t *testing.T) {
	k := secrets.Ephemeral()
	plain := []byte("sntrys_access_token_value")
	kid, sealed, err := k.Seal(plain, "grant:g_1:access_token")
	if err != nil {
		t.Fatal(err)
	}
	if kid != k.Newest() || kid != "ephemeral" {
		t.Errorf("kid = %q, Newest = %q", kid, k.Newest())
	}
	if bytes.Contains(sealed, plain) {
		t.Error("sealed data contains the plaintext")
	}
	if len(sealed) != 12+len(plain)+16 {
		t.Errorf("sealed is %d bytes, want nonce(12)+plaintext(%d)+tag(16)", len(sealed), len(plain))
	}
	got, err := k.Open(kid, sealed, "grant:g_1:access_token")
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Fresh nonce every time.
	_, again, _ := k.Seal(plain, "grant:g_1:access_token")
	if bytes.Equal(again, sealed) || bytes.Equal(again[:12], sealed[:12]) {
		t.Error("two seals of the same plaintext are equal (nonce reuse)")
	}

	for _, tc := range []struct {
		name, kid, aad string
		sealed         []byte
	}{
		{"wrong aad", kid, "grant:g_1:refresh_token", sealed},
		{"other grant", kid, "grant:g_2:access_token", sealed},
		{"flipped bit", kid, "grant:g_1:access_token", flip(sealed, 20)},
		{"flipped nonce", kid, "grant:g_1:access_token", flip(sealed, 0)},
		{"truncated", kid, "grant:g_1:access_token", sealed[:20]},
		{"empty", kid, "grant:g_1:access_token", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if pt, err := k.Open(tc.kid, tc.sealed, tc.aad); err == nil {
				t.Fatalf("Open succeeded: %q", pt)
			}
		})
	}
	// Another key cannot open it.
	if _, err := secrets.Ephemeral().Open(kid, sealed, "grant:g_1:access_token"); err == nil {
		t.Error("another key opened the data")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestRotation(t *testing.T) {
	a, b := std(keyB64(0xaa)), std(keyB64(0xbb))
	old := mustParse(t, "a:"+a)
	kid, sealed, err := old.Seal([]byte("secret"), "aad")
	if err != nil || kid != "a" {
		t.Fatalf("Seal: %q %v", kid, err)
	}
	rotated := mustParse(t, "b:"+b+",a:"+a)
	if rotated.Newest() != "b" {
		t.Errorf("Newest = %q", rotated.Newest())
	}
	if pt, err := rotated.Open("a", sealed, "aad"); err != nil || string(pt) != "secret" {
		t.Fatalf("rotated Open = %q, %v", pt, err)
	}
	kid2, sealed2, _ := rotated.Seal([]byte("secret"), "aad")
	if kid2 != "b" {
		t.Errorf("rotated Seal used %q", kid2)
	}
	// Key a renamed: the id is unknown, the other keys are tried.
	renamed := mustParse(t, "b:"+b+",old:"+a)
	if pt, err := renamed.Open("a", sealed, "aad"); err != nil || string(pt) != "secret" {
		t.Fatalf("fallback Open = %q, %v", pt, err)
	}
	// Only b: data under a cannot be read, and the error says why.
	onlyB := mustParse(t, "b:"+b)
	if pt, err := onlyB.Open("b", sealed2, "aad"); err != nil || string(pt) != "secret" {
		t.Fatalf("only-b Open = %q, %v", pt, err)
	}
	_, err = onlyB.Open("a", sealed, "aad")
	if err == nil || !strings.Contains(err.Error(), `key "a", which is not configured (configured: b)`) {
		t.Fatalf("unknown key error = %v", err)
	}
	// A known id with the wrong key material does not fall back.
	wrong := mustParse(t, "a:"+b)
	if _, err := wrong.Open("a", sealed, "aad"); err == nil || !strings.Contains(err.Error(), `decrypting with key "a" failed`) {
		t.Fatalf("wrong key error = %v", err)
	}
}

func TestMAC(t *testing.T) {
	a, b := std(keyB64(0xaa)), std(keyB64(0xbb))
	k := mustParse(t, "a:"+a)
	m1 := k.MAC("csrf", []byte("browser"))
	if len(m1) != 32 {
		t.Fatalf("MAC is %d bytes", len(m1))
	}
	if !bytes.Equal(m1, mustParse(t, "x:"+a).MAC("csrf", []byte("browser"))) {
		t.Error("MAC depends on the key id, not only the key")
	}
	for name, other := range map[string][]byte{
		"other purpose": k.MAC("cookie", []byte("browser")),
		"other data":    k.MAC("csrf", []byte("browser2")),
		"other key":     mustParse(t, "b:"+b).MAC("csrf", []byte("browser")),
		"newest key":    mustParse(t, "b:"+b+",a:"+a).MAC("csrf", []byte("browser")),
	} {
		if bytes.Equal(m1, other) {
			t.Errorf("%s: same MAC", name)
		}
	}
	if bytes.Contains(m1, keyB64(0xaa)[:8]) {
		t.Error("MAC contains key bytes")
	}
}

func TestFormattingHidesKeys(t *testing.T) {
	raw := keyB64(0xaa)
	k := mustParse(t, "kid1:"+std(raw))
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("keys", "keys", k, "value", *k)
	outs := []string{logs.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k))
	}
	for _, out := range outs {
		for _, leak := range []string{std(raw), fmt.Sprintf("%x", raw[:4]), "170 170", string(raw[:4])} {
			if strings.Contains(out, leak) {
				t.Errorf("output %q shows key material", out)
			}
		}
		if !strings.Contains(out, "kid1") {
			t.Errorf("output %q does not name the key id", out)
		}
	}
}
