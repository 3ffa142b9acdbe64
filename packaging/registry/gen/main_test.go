package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "../server.schema.json"

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(SchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// fakeDist writes an archive per platform (plus skip) and their checksums.
func fakeDist(t *testing.T, version string, skip string) (dir string, sums map[string]string) {
	t.Helper()
	dir = t.TempDir()
	sums = map[string]string{}
	var lines strings.Builder
	for _, p := range Platforms {
		name := ArchiveName(version, p.OS, p.Arch)
		body := []byte("archive " + name)
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(body)
		sums[name] = hex.EncodeToString(h[:])
		if name != skip {
			fmt.Fprintf(&lines, "%s  %s\n", sums[name], name)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, sums
}

func writeTools(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tools.json")
	doc := `{"tools":[{"name":"find_organizations","toolset":"orgs","scopes":["org:read"],"read_only":true},{"name":"update_issue","toolset":"issues","scopes":["event:write"],"read_only":false}]}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGenerateValidAgainstRegistrySchema(t *testing.T) {
	sch := compileSchema(t)
	dist, sums := fakeDist(t, "1.2.3", "")
	data, err := Generate(Options{Version: "v1.2.3", Dist: dist, Tools: writeTools(t), Image: "ghcr.io/sentry-mcp/sentry-mcp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, sch, data); err != nil {
		t.Fatalf("server.json is not valid against %s:\n%v\n%s", schemaPath, err, data)
	}
	var s Server
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != "io.github.sentry-mcp/sentry-mcp" || s.Version != "1.2.3" || s.Schema != SchemaURL {
		t.Errorf("name %q version %q $schema %q", s.Name, s.Version, s.Schema)
	}
	if got, want := len(s.Packages), len(Platforms)+1; got != want {
		t.Fatalf("%d packages, want %d (six archives and the image)", got, want)
	}
	for i, p := range Platforms {
		file := ArchiveName("1.2.3", p.OS, p.Arch)
		pk := s.Packages[i]
		wantID := "https://github.com/sentry-mcp/sentry-mcp/releases/download/v1.2.3/" + file
		if pk.RegistryType != "mcpb" || pk.Identifier != wantID || pk.Transport.Type != "stdio" {
			t.Errorf("package %d: %+v, want mcpb %s over stdio", i, pk, wantID)
		}
		if pk.FileSha256 != sums[file] {
			t.Errorf("%s: fileSha256 %s, want %s", file, pk.FileSha256, sums[file])
		}
		var secret bool
		for _, e := range pk.EnvironmentVariables {
			if e.Name == "SENTRY_ACCESS_TOKEN" {
				secret = e.IsSecret
			}
		}
		if !secret {
			t.Errorf("%s: SENTRY_ACCESS_TOKEN missing or not secret", file)
		}
	}
	img := s.Packages[len(Platforms)]
	if img.RegistryType != "oci" || img.Identifier != "ghcr.io/sentry-mcp/sentry-mcp:1.2.3" {
		t.Errorf("image package %+v", img)
	}
	if !strings.Contains(string(data), `"update_issue"`) {
		t.Errorf("tool names from tools.json missing:\n%s", data)
	}
}

func TestSchemaRejects(t *testing.T) {
	// The vendored schema is not a yes to everything.
	sch := compileSchema(t)
	for name, doc := range map[string]string{
		"no slash in name": `{"name":"sentry-mcp","description":"d","version":"1"}`,
		"bad sha256":       `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"mcpb","identifier":"https://x/y","version":"1","fileSha256":"XYZ","transport":{"type":"stdio"}}]}`,
		"unknown field":    `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"mcpb","identifier":"https://x/y","version":"1","sha":"1","transport":{"type":"stdio"}}]}`,
	} {
		if err := validate(t, sch, []byte(doc)); err == nil {
			t.Errorf("%s: schema accepted %s", name, doc)
		}
	}
}

func TestGenerateRefusesMissingChecksum(t *testing.T) {
	skip := ArchiveName("1.2.3", "darwin", "arm64")
	dist, _ := fakeDist(t, "1.2.3", skip)
	_, err := Generate(Options{Version: "1.2.3", Dist: dist})
	if err == nil || !strings.Contains(err.Error(), skip) {
		t.Fatalf("Generate with no checksum for %s: err = %v", skip, err)
	}
}

func TestGenerateRefusesBadInput(t *testing.T) {
	dist, _ := fakeDist(t, "1.2.3", "")
	if _, err := Generate(Options{Version: "", Dist: dist}); err == nil {
		t.Error("no version: no error")
	}
	if _, err := Generate(Options{Version: "1.2.3", Dist: t.TempDir()}); err == nil {
		t.Error("no checksums.txt: no error")
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "checksums.txt"), []byte("nothex  sentry-mcp.tar.gz\n"), 0o644)
	if _, err := Generate(Options{Version: "1.2.3", Dist: bad}); err == nil {
		t.Error("malformed checksums.txt: no error")
	}
}

// TestSnapshot runs the generator on a real release snapshot when
// SENTRY_MCP_DIST names one (dist/ of scripts/release-check.sh --archives):
// it needs all six archives there, and checks the hashes against the files.
func TestSnapshot(t *testing.T) {
	dist := os.Getenv("SENTRY_MCP_DIST")
	if dist == "" {
		t.Skip("SENTRY_MCP_DIST not set (a GoReleaser dist/ with six archives)")
	}
	version := os.Getenv("SENTRY_MCP_VERSION")
	if version == "" {
		t.Fatal("SENTRY_MCP_VERSION must give the snapshot's version (as in its archive names)")
	}
	args := []string{"run", ".", "-version", version, "-dist", dist, "-out", filepath.Join(t.TempDir(), "server.json")}
	if tools := os.Getenv("SENTRY_MCP_TOOLS_JSON"); tools != "" {
		args = append(args, "-tools", tools)
	}
	data, err := Generate(Options{Version: version, Dist: dist, Tools: os.Getenv("SENTRY_MCP_TOOLS_JSON"), Image: "ghcr.io/sentry-mcp/sentry-mcp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, compileSchema(t), data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var s Server
	json.Unmarshal(data, &s)
	for _, p := range s.Packages {
		if p.RegistryType != "mcpb" {
			continue
		}
		file := filepath.Join(dist, filepath.Base(p.Identifier))
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(body)
		if hex.EncodeToString(h[:]) != p.FileSha256 {
			t.Errorf("%s: server.json says %s, the file hashes to %x", file, p.FileSha256, h)
		}
	}
	// The command line works as documented.
	cmd := exec.Command("go", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
