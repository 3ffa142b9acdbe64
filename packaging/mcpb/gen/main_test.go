package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const sampleTools = `{"tools":[
 {"name":"whoami","title":"Who am I","toolset":"orgs","scopes":[],"read_only":true,"enabled":true},
 {"name":"resolve_issue","title":"Resolve issue","description":"Mark an issue \"resolved\"","toolset":"issues","scopes":["event:write"],"read_only":false,"enabled":true}
],"granted_scopes":[]}`

func render(t *testing.T, version, goos string) map[string]any {
	t.Helper()
	tmpl, err := os.ReadFile("../manifest.template.json")
	if err != nil {
		t.Fatal(err)
	}
	out, err := generate(tmpl, version, goos, []byte(sampleTools))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestManifest(t *testing.T) {
	m := render(t, "v1.2.3", "linux")
	if m["manifest_version"] != "0.3" || m["version"] != "1.2.3" || m["name"] != "sentry-mcp" {
		t.Errorf("header: %v %v %v", m["manifest_version"], m["version"], m["name"])
	}
	srv := m["server"].(map[string]any)
	cfg := srv["mcp_config"].(map[string]any)
	if srv["type"] != "binary" || srv["entry_point"] != "server/sentry-mcp" || cfg["command"] != "${__dirname}/server/sentry-mcp" {
		t.Errorf("server: %v", srv)
	}
	if args := cfg["args"].([]any); len(args) == 0 || args[0] != "serve" {
		t.Errorf("args: %v", args)
	}
	env := cfg["env"].(map[string]any)
	want := map[string]string{
		"SENTRY_ACCESS_TOKEN":  "${user_config.auth_token}",
		"SENTRY_URL":           "${user_config.sentry_url}",
		"SENTRY_MCP_READ_ONLY": "${user_config.read_only}",
		"SENTRY_MCP_TOOLSETS":  "${user_config.toolsets}",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %v, want %s", k, env[k], v)
		}
	}
	uc := m["user_config"].(map[string]any)
	tok := uc["auth_token"].(map[string]any)
	if tok["sensitive"] != true || tok["required"] != true || tok["type"] != "string" {
		t.Errorf("auth_token: %v", tok)
	}
	if u := uc["sentry_url"].(map[string]any); u["default"] != "https://sentry.io" {
		t.Errorf("sentry_url: %v", u)
	}
	if r := uc["read_only"].(map[string]any); r["type"] != "boolean" {
		t.Errorf("read_only: %v", r)
	}
	if ts := uc["toolsets"].(map[string]any); ts["default"] != "default" {
		t.Errorf("toolsets: %v", ts)
	}
	// every ${user_config.X} in env names a declared entry
	for k, v := range env {
		name := strings.TrimSuffix(strings.TrimPrefix(v.(string), "${user_config."), "}")
		if _, ok := uc[name]; !ok {
			t.Errorf("env %s refers to undeclared user_config %q", k, name)
		}
	}
	tools := m["tools"].([]any)
	if len(tools) != 2 {
		t.Fatalf("tools: %v", tools)
	}
	if w := tools[0].(map[string]any); w["name"] != "whoami" || w["description"] != "Who am I" {
		t.Errorf("title stands in for a missing description: %v", w)
	}
	if r := tools[1].(map[string]any); r["description"] != `Mark an issue "resolved"` || len(r) != 2 {
		t.Errorf("resolve_issue: %v", r)
	}
	if p := m["compatibility"].(map[string]any)["platforms"].([]any); len(p) != 1 || p[0] != "linux" {
		t.Errorf("platforms: %v", p)
	}
}

func TestWindows(t *testing.T) {
	m := render(t, "1.0.0", "windows")
	srv := m["server"].(map[string]any)
	if srv["entry_point"] != "server/sentry-mcp.exe" || srv["mcp_config"].(map[string]any)["command"] != "${__dirname}/server/sentry-mcp.exe" {
		t.Errorf("server: %v", srv)
	}
	if p := m["compatibility"].(map[string]any)["platforms"].([]any); p[0] != "win32" {
		t.Errorf("platforms: %v", p)
	}
	if p := render(t, "1.0.0", "darwin")["compatibility"].(map[string]any)["platforms"].([]any); p[0] != "darwin" {
		t.Errorf("darwin platforms: %v", p)
	}
}

func TestRejects(t *testing.T) {
	tmpl, _ := os.ReadFile("../manifest.template.json")
	for name, c := range map[string]struct{ version, goos, tools string }{
		"devel version": {"(devel)", "linux", sampleTools},
		"no version":    {"", "linux", sampleTools},
		"bad os":        {"1.0.0", "plan9", sampleTools},
		"no tools":      {"1.0.0", "linux", `{"tools":[]}`},
		"not json":      {"1.0.0", "linux", `nope`},
		"nameless tool": {"1.0.0", "linux", `{"tools":[{"title":"x"}]}`},
	} {
		if _, err := generate(tmpl, c.version, c.goos, []byte(c.tools)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
