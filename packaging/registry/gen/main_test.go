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

// fakeRelease writes a bundle per platform (except skip), an archive per
// platform, and a checksums.txt naming all of them as GoReleaser does.
func fakeRelease(t *testing.T, version string, skip string) (checksums string, sums map[string]string) {
	t.Helper()
	dir := t.TempDir()
	sums = map[string]string{}
	var lines strings.Builder
	for _, p := range Platforms {
		for _, file := range []string{BundleName(version, p.OS, p.Arch), fmt.Sprintf("sentry-mcp_%s_%s_%s.tar.gz", version, p.OS, p.Arch)} {
			body := []byte("asset " + file)
			if err := os.WriteFile(filepath.Join(dir, file), body, 0o644); err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(body)
			sums[file] = hex.EncodeToString(h[:])
			if file != skip {
				fmt.Fprintf(&lines, "%s  %s\n", sums[file], file)
			}
		}
	}
	checksums = filepath.Join(dir, "checksums.txt")
	if err := os.WriteFile(checksums, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return checksums, sums
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
	checksums, sums := fakeRelease(t, "1.2.3", "")
	data, err := Generate(Options{Version: "v1.2.3", Checksums: checksums, Tools: writeTools(t), Image: "ghcr.io/sentry-mcp/sentry-mcp"})
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
		t.Fatalf("%d packages, want %d (six bundles and the image)", got, want)
	}
	for i, p := range Platforms {
		file := BundleName("1.2.3", p.OS, p.Arch)
		pk := s.Packages[i]
		wantID := "https://github.com/sentry-mcp/sentry-mcp/releases/download/v1.2.3/" + file
		if pk.RegistryType != "mcpb" || pk.Identifier != wantID || pk.Transport.Type != "stdio" {
			t.Errorf("package %d: %+v, want mcpb %s over stdio", i, pk, wantID)
		}
		if pk.FileSha256 != sums[file] {
			t.Errorf("%s: fileSha256 %s, want %s", file, pk.FileSha256, sums[file])
		}
		if pk.Version != "" || pk.RegistryBaseURL != "" {
			t.Errorf("%s: version %q registryBaseUrl %q, which the registry refuses on mcpb", file, pk.Version, pk.RegistryBaseURL)
		}
	}
	if strings.Contains(string(data), ".tar.gz") {
		t.Errorf("an archive is listed as a package (the registry has no type for it):\n%s", data)
	}
	img := s.Packages[len(Platforms)]
	if img.RegistryType != "oci" || img.Identifier != "ghcr.io/sentry-mcp/sentry-mcp:1.2.3" || img.Version != "" || img.RegistryBaseURL != "" {
		t.Errorf("image package %+v", img)
	}
	var secret bool
	for _, e := range img.EnvironmentVariables {
		if e.Name == "SENTRY_ACCESS_TOKEN" {
			secret = e.IsSecret && e.IsRequired
		}
	}
	if !secret {
		t.Error("image: SENTRY_ACCESS_TOKEN missing or not a required secret")
	}
	if !strings.Contains(string(data), `"update_issue"`) {
		t.Errorf("tool names from tools.json missing:\n%s", data)
	}
}

func TestSchemaRejects(t *testing.T) {
	// The vendored schema is not a yes to everything.
	sch := compileSchema(t)
	const sha = "fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce"
	for name, doc := range map[string]string{
		"no slash in name":     `{"name":"sentry-mcp","description":"d","version":"1"}`,
		"no version":           `{"name":"a/b","description":"d"}`,
		"description too long": `{"name":"a/b","version":"1","description":"` + strings.Repeat("x", 101) + `"}`,
		"bad sha256":           `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"mcpb","identifier":"https://x/y.mcpb","fileSha256":"XYZ","transport":{"type":"stdio"}}]}`,
		"no identifier":        `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"mcpb","fileSha256":"` + sha + `","transport":{"type":"stdio"}}]}`,
		"no transport":         `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"mcpb","identifier":"https://x/y.mcpb","fileSha256":"` + sha + `"}]}`,
		"unknown transport":    `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"mcpb","identifier":"https://x/y.mcpb","fileSha256":"` + sha + `","transport":{"type":"pipe"}}]}`,
		"version latest":       `{"name":"a/b","description":"d","version":"1","packages":[{"registryType":"npm","identifier":"x","version":"latest","transport":{"type":"stdio"}}]}`,
	} {
		if err := validate(t, sch, []byte(doc)); err == nil {
			t.Errorf("%s: schema accepted %s", name, doc)
		}
	}
}

func TestCheckRejects(t *testing.T) {
	// What the registry refuses at publish time though the schema allows it.
	checksums, _ := fakeRelease(t, "1.2.3", "")
	data, err := Generate(Options{Version: "1.2.3", Checksums: checksums, Image: "ghcr.io/sentry-mcp/sentry-mcp"})
	if err != nil {
		t.Fatal(err)
	}
	good := func() Server {
		var s Server
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := Check(good(), "sentry-mcp/sentry-mcp"); err != nil {
		t.Fatalf("the generated document fails Check: %v", err)
	}
	const oci = 6
	for _, c := range []struct {
		name   string
		change func(*Server)
		want   string
	}{
		{"another namespace", func(s *Server) { s.Name = "io.github.someone/sentry-mcp" }, "may publish only io.github.sentry-mcp/"},
		{"version range", func(s *Server) { s.Version = "^1.2.3" }, "one exact version"},
		{"version latest", func(s *Server) { s.Version = "latest" }, "one exact version"},
		{"no packages", func(s *Server) { s.Packages = nil }, "no packages"},
		{"mcpb over http", func(s *Server) {
			s.Packages[0].Identifier = "http://github.com/sentry-mcp/sentry-mcp/releases/download/v1.2.3/a.mcpb"
		}, "https URL"},
		{"mcpb URL without mcp", func(s *Server) { s.Packages[0].Identifier = "https://github.com/x/y/releases/download/v1/z.zip" }, `"mcp"`},
		{"mcpb off the releases", func(s *Server) {
			s.Packages[0].Identifier = "https://example.com/sentry-mcp/sentry-mcp/releases/download/v1.2.3/a.mcpb"
		}, "github.com/sentry-mcp/sentry-mcp release"},
		{"mcpb with version", func(s *Server) { s.Packages[1].Version = "1.2.3" }, "refuses version and registryBaseUrl on mcpb"},
		{"mcpb upper-case sha", func(s *Server) { s.Packages[2].FileSha256 = strings.ToUpper(s.Packages[2].FileSha256) }, "64 lowercase hex"},
		{"mcpb without sha", func(s *Server) { s.Packages[3].FileSha256 = "" }, "64 lowercase hex"},
		{"oci with version", func(s *Server) { s.Packages[oci].Version = "1.2.3" }, "refuses version, registryBaseUrl and fileSha256 on oci"},
		{"oci with base URL", func(s *Server) { s.Packages[oci].RegistryBaseURL = "https://ghcr.io" }, "on oci"},
		{"oci without tag", func(s *Server) { s.Packages[oci].Identifier = "ghcr.io/sentry-mcp/sentry-mcp" }, "identifier"},
		{"oci elsewhere", func(s *Server) { s.Packages[oci].Identifier = "quay.example/sentry-mcp/sentry-mcp:1.2.3" }, "pulls images only from"},
		{"npm", func(s *Server) { s.Packages[oci].RegistryType = "npm" }, "only mcpb and oci"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.change(&s)
			err := Check(s, "sentry-mcp/sentry-mcp")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestGenerateRefusesMissingChecksum(t *testing.T) {
	skip := BundleName("1.2.3", "darwin", "arm64")
	checksums, _ := fakeRelease(t, "1.2.3", skip)
	_, err := Generate(Options{Version: "1.2.3", Checksums: checksums})
	if err == nil || !strings.Contains(err.Error(), skip) {
		t.Fatalf("Generate with no checksum for %s: err = %v", skip, err)
	}
}

func TestGenerateRefusesBadInput(t *testing.T) {
	checksums, _ := fakeRelease(t, "1.2.3", "")
	for name, o := range map[string]Options{
		"no version":       {Checksums: checksums},
		"latest":           {Version: "latest", Checksums: checksums},
		"no checksums":     {Version: "1.2.3"},
		"missing file":     {Version: "1.2.3", Checksums: filepath.Join(t.TempDir(), "checksums.txt")},
		"bad repo":         {Version: "1.2.3", Checksums: checksums, Repo: "sentry-mcp"},
		"image without ok": {Version: "1.2.3", Checksums: checksums, Image: "ghcr.io/Sentry MCP"},
		"other version":    {Version: "1.2.4", Checksums: checksums},
	} {
		if _, err := Generate(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	bad := filepath.Join(t.TempDir(), "checksums.txt")
	os.WriteFile(bad, []byte("nothex  sentry-mcp.tar.gz\n"), 0o644)
	if _, err := Generate(Options{Version: "1.2.3", Checksums: bad}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed checksums: %v", err)
	}
}

// TestSnapshot runs the generator on a real snapshot when SENTRY_MCP_DIST
// names one (dist/ after scripts/release-check.sh, which packs the six
// bundles there and writes their sha256 to checksums.txt): it validates the
// result, then checks every listed hash against the bundle itself.
func TestSnapshot(t *testing.T) {
	dist := os.Getenv("SENTRY_MCP_DIST")
	if dist == "" {
		t.Skip("SENTRY_MCP_DIST not set (a dist/ with the six bundles and checksums.txt)")
	}
	version := os.Getenv("SENTRY_MCP_VERSION")
	if version == "" {
		t.Fatal("SENTRY_MCP_VERSION must give the snapshot's version (as in its bundle names)")
	}
	tools := os.Getenv("SENTRY_MCP_TOOLS_JSON")
	checksums := filepath.Join(dist, "checksums.txt")
	data, err := Generate(Options{Version: version, Checksums: checksums, Tools: tools, Image: "ghcr.io/sentry-mcp/sentry-mcp"})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, compileSchema(t), data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	var s Server
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	bundles := 0
	for _, p := range s.Packages {
		if p.RegistryType != "mcpb" {
			continue
		}
		bundles++
		file := filepath.Join(dist, filepath.Base(p.Identifier))
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(body); hex.EncodeToString(h[:]) != p.FileSha256 {
			t.Errorf("%s: server.json says %s, the file hashes to %x", file, p.FileSha256, h)
		}
	}
	if bundles != len(Platforms) {
		t.Errorf("%d bundles listed, want %d", bundles, len(Platforms))
	}
	if tools != "" {
		names, err := toolNames(tools)
		if err != nil {
			t.Fatal(err)
		}
		listed := s.Meta["io.modelcontextprotocol.registry/publisher-provided"].(map[string]any)["tools"]
		if fmt.Sprint(listed) != fmt.Sprint(names) {
			t.Errorf("server.json lists the tools %v, %s has %v", listed, tools, names)
		}
	}
	// The command line works as documented, and writes the same document.
	out := filepath.Join(t.TempDir(), "server.json")
	args := []string{"run", ".", "-version", version, "-checksums", checksums, "-tools", tools, "-out", out}
	if b, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	if written, err := os.ReadFile(out); err != nil || !bytes.Equal(written, data) {
		t.Errorf("the command wrote a different server.json (%v)", err)
	}
	if keep := os.Getenv("SENTRY_MCP_SERVER_JSON"); keep != "" {
		if err := os.WriteFile(keep, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The registry accepts the image only if its label names this server.
func TestDockerfileLabelNamesTheServer(t *testing.T) {
	df, err := os.ReadFile("../../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want := `io.modelcontextprotocol.server.name="io.github.sentry-mcp/sentry-mcp"`
	if !strings.Contains(string(df), want) {
		t.Errorf("deploy/Dockerfile has no %s (the name Generate writes)", want)
	}
}
