// Command gen writes the server.json that publishes sentry-mcp in the official
// MCP registry, from a release's checksums file (GoReleaser's
// dist/checksums.txt) and the output of `sentry-mcp tools --json`:
//
//	go run ./packaging/registry/gen -version 1.2.3 -checksums dist/checksums.txt -tools tools.json -out server.json
//
// The registry lists two kinds of package for this server: the Claude Desktop
// bundles (registryType mcpb, one per OS/arch, each with the sha256 the
// checksums file gives it) and the container image (oci). A bundle without a
// checksum is an error, so the file never names an asset it cannot vouch
// for. The release archives (.tar.gz, .zip) are not registry packages: the
// registry has no type for them. The schema it follows is
// packaging/registry/server.schema.json (see SCHEMA_SOURCE.md); Check adds
// the rules the registry enforces beyond that schema when it publishes.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// SchemaURL is the $id of the vendored schema.
const SchemaURL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"

// Options are what one run needs.
type Options struct {
	Version   string // release version, with or without a leading "v"
	Checksums string // "SHA256  FILENAME" lines naming the release's bundles
	Tools     string // path of `sentry-mcp tools --json` output ("" for none)
	Repo      string // GitHub owner/name
	Image     string // OCI image repository, without tag ("" for none)
}

// Platforms are the release targets, in the order the packages are listed.
var Platforms = []struct{ OS, Arch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// BundleName is the Claude Desktop bundle's file name for one target, as
// scripts/mcpb.sh pack writes it.
func BundleName(version, goos, goarch string) string {
	return fmt.Sprintf("sentry-mcp-%s-%s-%s.mcpb", strings.TrimPrefix(version, "v"), goos, goarch)
}

var hashRE = regexp.MustCompile(`^[a-f0-9]{64}$`)

// ReadChecksums reads "HASH  FILENAME" lines (sha256sum's format).
func ReadChecksums(r io.Reader) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 || !hashRE.MatchString(strings.ToLower(f[0])) {
			return nil, fmt.Errorf("checksums line %d: want \"SHA256  FILENAME\", got %q", n, line)
		}
		sums[strings.TrimPrefix(f[1], "*")] = strings.ToLower(f[0])
	}
	return sums, sc.Err()
}

type input struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	IsRequired  bool   `json:"isRequired,omitempty"`
	IsSecret    bool   `json:"isSecret,omitempty"`
	Default     string `json:"default,omitempty"`
	Format      string `json:"format,omitempty"`
}

type argument struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
	Name  string `json:"name,omitempty"`
}

type pkg struct {
	RegistryType         string     `json:"registryType"`
	RegistryBaseURL      string     `json:"registryBaseUrl,omitempty"`
	Identifier           string     `json:"identifier"`
	Version              string     `json:"version,omitempty"`
	FileSha256           string     `json:"fileSha256,omitempty"`
	RuntimeHint          string     `json:"runtimeHint,omitempty"`
	Transport            transport  `json:"transport"`
	RuntimeArguments     []argument `json:"runtimeArguments,omitempty"`
	PackageArguments     []argument `json:"packageArguments,omitempty"`
	EnvironmentVariables []input    `json:"environmentVariables,omitempty"`
}

type transport struct {
	Type string `json:"type"`
}

type repository struct {
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Server is the document written.
type Server struct {
	Schema      string         `json:"$schema"`
	Name        string         `json:"name"`
	Title       string         `json:"title,omitempty"`
	Description string         `json:"description"`
	Version     string         `json:"version"`
	Repository  repository     `json:"repository"`
	WebsiteURL  string         `json:"websiteUrl,omitempty"`
	Packages    []pkg          `json:"packages"`
	Meta        map[string]any `json:"_meta,omitempty"`
}

// env is what `sentry-mcp serve` reads in the container (stdio).
var env = []input{
	{Name: "SENTRY_ACCESS_TOKEN", Description: "Sentry user auth token (or the output of `sentry-mcp auth token` after `sentry-mcp auth login`)", IsRequired: true, IsSecret: true},
	{Name: "SENTRY_URL", Description: "Sentry base URL, for self-hosted Sentry", Default: "https://sentry.io", Format: "string"},
	{Name: "SENTRY_MCP_READ_ONLY", Description: "true hides and refuses every tool that changes Sentry", Default: "false", Format: "boolean"},
	{Name: "SENTRY_MCP_TOOLSETS", Description: "toolsets to offer: orgs, issues, releases, events, all or default", Default: "default"},
}

// Generate builds the server.json document and checks it with Check.
func Generate(o Options) ([]byte, error) {
	version := strings.TrimPrefix(o.Version, "v")
	if version == "" || version == "latest" {
		return nil, fmt.Errorf("a release version is required (got %q)", o.Version)
	}
	if o.Repo == "" {
		o.Repo = "sentry-mcp/sentry-mcp"
	}
	owner, repo, ok := strings.Cut(o.Repo, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("-repo must be owner/name, got %q", o.Repo)
	}
	if o.Checksums == "" {
		return nil, errors.New("-checksums is required (the release's checksums.txt)")
	}
	f, err := os.Open(o.Checksums)
	if err != nil {
		return nil, err
	}
	sums, err := ReadChecksums(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Checksums, err)
	}

	repoURL := "https://github.com/" + o.Repo
	s := Server{
		Schema:      SchemaURL,
		Name:        "io.github." + owner + "/" + repo,
		Title:       "Sentry",
		Description: "Sentry for AI agents: triage issues, events, releases and traces over MCP.",
		Version:     version,
		Repository:  repository{URL: repoURL, Source: "github"},
		WebsiteURL:  repoURL,
	}
	var missing []string
	for _, p := range Platforms {
		file := BundleName(version, p.OS, p.Arch)
		sum, ok := sums[file]
		if !ok {
			missing = append(missing, file)
			continue
		}
		// The bundle's manifest declares its command and user configuration.
		s.Packages = append(s.Packages, pkg{
			RegistryType: "mcpb",
			Identifier:   repoURL + "/releases/download/v" + version + "/" + file,
			FileSha256:   sum,
			Transport:    transport{Type: "stdio"},
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no checksum in %s for %s", o.Checksums, strings.Join(missing, ", "))
	}
	if o.Image != "" {
		// The image's entrypoint is sentry-mcp; "serve" replaces its default
		// command (hosted mode) with the stdio server, whose container the
		// hosted-mode health check would call unhealthy.
		s.Packages = append(s.Packages, pkg{
			RegistryType:         "oci",
			Identifier:           o.Image + ":" + version,
			RuntimeHint:          "docker",
			Transport:            transport{Type: "stdio"},
			RuntimeArguments:     []argument{{Type: "named", Name: "-i"}, {Type: "named", Name: "--rm"}, {Type: "named", Name: "--no-healthcheck"}, {Type: "named", Name: "-e", Value: "SENTRY_ACCESS_TOKEN"}, {Type: "named", Name: "-e", Value: "SENTRY_URL"}, {Type: "named", Name: "-e", Value: "SENTRY_MCP_READ_ONLY"}, {Type: "named", Name: "-e", Value: "SENTRY_MCP_TOOLSETS"}},
			PackageArguments:     []argument{{Type: "positional", Value: "serve"}},
			EnvironmentVariables: env,
		})
	}
	if o.Tools != "" {
		names, err := toolNames(o.Tools)
		if err != nil {
			return nil, err
		}
		s.Meta = map[string]any{
			"io.modelcontextprotocol.registry/publisher-provided": map[string]any{
				"tool":  "packaging/registry/gen",
				"tools": names,
			},
		}
	}
	if err := Check(s, o.Repo); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	if err := e.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ociRegistries are the registries the MCP registry pulls images from to
// check their io.modelcontextprotocol.server.name label (and *.pkg.dev).
var ociRegistries = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "ghcr.io": true}

// Check applies the rules the MCP registry enforces when it publishes,
// beyond the JSON schema (modelcontextprotocol/registry,
// internal/validators): a GitHub-authenticated publisher owns only the
// io.github.<owner>/ namespace; an mcpb package is an https release-asset
// URL containing "mcp" with a fileSha256 and neither version nor
// registryBaseUrl; an oci package is a tagged reference on an allowed
// registry with none of version, registryBaseUrl and fileSha256.
func Check(s Server, repo string) error {
	owner, _, _ := strings.Cut(repo, "/")
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if !strings.HasPrefix(s.Name, "io.github."+owner+"/") {
		bad("name %q: a publisher signed in with GitHub as %s may publish only io.github.%s/...", s.Name, owner, owner)
	}
	if n := len([]rune(s.Description)); n == 0 || n > 100 {
		bad("description: %d characters, want 1 to 100", n)
	}
	if s.Version == "latest" || strings.ContainsAny(s.Version, "^~<>=* ") {
		bad("version %q: want one exact version", s.Version)
	}
	if len(s.Packages) == 0 {
		bad("no packages")
	}
	for i, p := range s.Packages {
		where := fmt.Sprintf("packages[%d] (%s)", i, p.RegistryType)
		switch p.RegistryType {
		case "mcpb":
			u, err := url.Parse(p.Identifier)
			switch {
			case err != nil || u.Scheme != "https" || u.Host == "":
				bad("%s: identifier %q: want an https URL", where, p.Identifier)
			case !strings.Contains(strings.ToLower(p.Identifier), "mcp"):
				bad("%s: identifier %q: the registry wants \"mcp\" in an mcpb URL", where, p.Identifier)
			case u.Host != "github.com" || !strings.HasPrefix(u.Path, "/"+repo+"/releases/download/"):
				bad("%s: identifier %q: want an asset of a github.com/%s release", where, p.Identifier, repo)
			}
			// (The schema makes fileSha256 optional; the registry requires it for mcpb.)
			if !hashRE.MatchString(p.FileSha256) {
				bad("%s: fileSha256 %q: want 64 lowercase hex digits", where, p.FileSha256)
			}
			if p.Version != "" || p.RegistryBaseURL != "" {
				bad("%s: the registry refuses version and registryBaseUrl on mcpb packages", where)
			}
		case "oci":
			// Strict: a tag or digest must be given, not defaulted to latest.
			ref, err := name.ParseReference(p.Identifier, name.StrictValidation)
			if err != nil {
				bad("%s: identifier %q: %v", where, p.Identifier, err)
				break
			}
			if reg := ref.Context().RegistryStr(); !ociRegistries[reg] && !strings.HasSuffix(reg, ".pkg.dev") {
				bad("%s: registry %s: the MCP registry pulls images only from docker.io, ghcr.io and *.pkg.dev", where, reg)
			}
			if p.Version != "" || p.RegistryBaseURL != "" || p.FileSha256 != "" {
				bad("%s: the registry refuses version, registryBaseUrl and fileSha256 on oci packages", where)
			}
		default:
			bad("%s: this generator writes only mcpb and oci packages", where)
		}
	}
	return errors.Join(errs...)
}

func toolNames(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Tools) == 0 {
		return nil, errors.New(path + ": no tools (want the output of `sentry-mcp tools --json`)")
	}
	names := make([]string, 0, len(doc.Tools))
	for _, t := range doc.Tools {
		if t.Name == "" {
			return nil, errors.New(path + ": a tool without a name")
		}
		names = append(names, t.Name)
	}
	return names, nil
}

func main() {
	var o Options
	out := flag.String("out", "server.json", "where to write server.json (- for stdout)")
	flag.StringVar(&o.Version, "version", "", "release version, e.g. 1.2.3 or v1.2.3 (required)")
	flag.StringVar(&o.Checksums, "checksums", "dist/checksums.txt", "the release's checksums (sha256sum format), naming its .mcpb bundles")
	flag.StringVar(&o.Tools, "tools", "", "output of `sentry-mcp tools --json`")
	flag.StringVar(&o.Repo, "repo", "sentry-mcp/sentry-mcp", "GitHub owner/name of the releases")
	flag.StringVar(&o.Image, "image", "ghcr.io/sentry-mcp/sentry-mcp", "container image repository (empty: no OCI package)")
	flag.Parse()
	data, err := Generate(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *out == "-" {
		_, err = os.Stdout.Write(data)
	} else {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
