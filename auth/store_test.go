package auth

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestCredentialRedaction(t *testing.T) {
	c := testCredential("https://sentry.io")
	c.AccessToken = "sntryu_ACCESS_TOKEN_VALUE"
	c.RefreshToken = "REFRESH_TOKEN_VALUE"
	c.ClientSecret = "CLIENT_SECRET_VALUE"
	secrets := []string{c.AccessToken, c.RefreshToken, c.ClientSecret}
	for _, s := range secrets[:3] {
		secrets = append(secrets, hex.EncodeToString([]byte(s))) // for %x
	}
	check := func(what, out string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(out, s) || strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
				t.Errorf("%s leaks %q: %s", what, s, out)
			}
		}
	}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%T"} {
		check("value "+verb, fmt.Sprintf(verb, *c))
		check("pointer "+verb, fmt.Sprintf(verb, c))
	}
	check("slice", fmt.Sprintf("%v %+v %#v", []Credential{*c}, []*Credential{c}, map[string]*Credential{"x": c}))
	check("Sprint", fmt.Sprint(c, *c)+fmt.Sprintln(c))
	check("wrapped struct", fmt.Sprintf("%+v", struct{ C *Credential }{c}))

	// Useful content is still there.
	out := fmt.Sprintf("%v", c)
	for _, want := range []string{"https://sentry.io", "[REDACTED]", "client-id-123", "jane@example.com", "oauth"} {
		if !strings.Contains(out, want) {
			t.Errorf("%%v output %q lacks %q", out, want)
		}
	}
	if g := fmt.Sprintf("%#v", c); !strings.HasPrefix(g, "auth.Credential{") {
		t.Errorf("%%#v = %q", g)
	}
	empty := fmt.Sprintf("%v", Credential{Host: "h"})
	if strings.Contains(empty, "REDACTED") {
		t.Errorf("empty secrets shown as redacted: %s", empty)
	}

	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("cred", "c", c, "v", *c, slog.Any("any", c))
		log.With("c", c).Info("with")
		check("slog "+name, buf.String())
		if !strings.Contains(buf.String(), "https://sentry.io") {
			t.Errorf("slog %s lost the host: %s", name, buf.String())
		}
		if name == "json" {
			line, _, _ := strings.Cut(buf.String(), "\n")
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("slog json: %v", err)
			}
			g, _ := m["c"].(map[string]any)
			if g["access_token"] != "[REDACTED]" || g["host"] != "https://sentry.io" {
				t.Errorf("slog json group = %v", m["c"])
			}
		}
	}

	// encoding/json is the storage format: it keeps the secrets.
	data, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(data), c.AccessToken) || !strings.Contains(string(data), c.ClientSecret) {
		t.Errorf("json.Marshal = %s, %v", data, err)
	}
}

func TestCredentialNilPointerFormat(t *testing.T) {
	var c *Credential
	if got := fmt.Sprintf("%v", c); got != "<nil>" {
		t.Errorf("%%v of nil = %q", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "c", c) // must not panic
}
