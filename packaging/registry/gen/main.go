// Command gen writes the server.json that publishes sentry-mcp in the official
// MCP registry, from a release build (GoReleaser's dist/ directory) and the
// output of `sentry-mcp tools --json`:
//
//	go run ./packaging/registry/gen -version 1.2.3 -dist dist -tools tools.json -out server.json
//
// Every release archive gets a package entry with the sha256 that
// dist/checksums.txt gives it; an archive without a checksum is an error, so
// the file never names an asset it cannot vouch for. The schema it follows is
// packaging/registry/server.schema.json (see SCHEMA_SOURCE.md).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// SchemaURL is the $id of the vendored schema.
const SchemaURL = "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"

// Options are what one run needs.
type Options struct {
	Version string // release version, with or without a leading "v"
	Dist    string // GoReleaser's dist directory, holding checksums.txt
	Tools   string // path of `sentry-mcp tools --json` output ("" for none)
	Repo    string // GitHub owner/name
	Image   string // OCI image repository, without tag ("" for none)
}

// Platforms are the release targets, in the order the packages are listed.
var Platforms = []struct{ OS, Arch string }{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// ArchiveName is GoReleaser's archive name for one target.
func ArchiveName(version, goos, goarch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return fmt.Sprintf("sentry-mcp_%s_%s_%s%s", strings.TrimPrefix(version, "v"), goos, goarch, ext)
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
	Version              string     `json:"version"`
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
	Description string         `json:"description"`
	Version     string         `json:"version"`
	Repository  repository     `json:"repository"`
	WebsiteURL  string         `json:"websiteUrl,omitempty"`
	Packages    []pkg          `json:"packages"`
	Meta        map[string]any `json:"_meta,omitempty"`
}

// env is what the stdio server reads from a desktop client's configuration.
var env = []input{
	{Name: "SENTRY_ACCESS_TOKEN", Description: "Sentry user auth token (or the output of `sentry-mcp auth token` after `sentry-mcp auth login`)", IsRequired: true, IsSecret: true},
	{Name: "SENTRY_URL", Description: "Sentry base URL, for self-hosted Sentry", Default: "https://sentry.io", Format: "string"},
	{Name: "SENTRY_MCP_READ_ONLY", Description: "true hides and refuses every tool that changes Sentry", Default: "false", Format: "boolean"},
	{Name: "SENTRY_MCP_TOOLSETS", Description: "toolsets to offer: orgs, issues, releases, events, all or default", Default: "default"},
}

// Generate builds the server.json document.
func Generate(o Options) ([]byte, error) {
	version := strings.TrimPrefix(o.Version, "v")
	if version == "" || version == "latest" {
		return nil, fmt.Errorf("a release version is required (got %q)", o.Version)
	}
	if o.Repo == "" {
		o.Repo = "sentry-mcp/sentry-mcp"
	}
	owner, name, ok := strings.Cut(o.Repo, "/")
	if !ok || owner == "" || name == "" {
		return nil, fmt.Errorf("-repo must be owner/name, got %q", o.Repo)
	}
	f, err := os.Open(filepath.Join(o.Dist, "checksums.txt"))
	if err != nil {
		return nil, err
	}
	sums, err := ReadChecksums(f)
	f.Close()
	if err != nil {
		return nil, err
	}

	repoURL := "https://github.com/" + o.Repo
	s := Server{
		Schema:      SchemaURL,
		Name:        "io.github." + owner + "/" + name,
		Description: "Sentry for AI assistants: issues, events, releases and projects over MCP.",
		Version:     version,
		Repository:  repository{URL: repoURL, Source: "github"},
		WebsiteURL:  repoURL,
	}
	var missing []string
	for _, p := range Platforms {
		file := ArchiveName(version, p.OS, p.Arch)
		sum, ok := sums[file]
		if !ok {
			missing = append(missing, file)
			continue
		}
		s.Packages = append(s.Packages, pkg{
			RegistryType:         "mcpb",
			Identifier:           repoURL + "/releases/download/v" + version + "/" + file,
			Version:              version,
			FileSha256:           sum,
			Transport:            transport{Type: "stdio"},
			PackageArguments:     []argument{{Type: "positional", Value: "serve"}},
			EnvironmentVariables: env,
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no checksum in %s for %s", filepath.Join(o.Dist, "checksums.txt"), strings.Join(missing, ", "))
	}
	// Desktop bundles, when the release has them, are listed too.
	var bundles []string
	for file := range sums {
		if strings.HasSuffix(file, ".mcpb") && !strings.Contains(file, "/") {
			bundles = append(bundles, file)
		}
	}
	sort.Strings(bundles)
	for _, file := range bundles {
		s.Packages = append(s.Packages, pkg{
			RegistryType:         "mcpb",
			Identifier:           repoURL + "/releases/download/v" + version + "/" + file,
			Version:              version,
			FileSha256:           sums[file],
			Transport:            transport{Type: "stdio"},
			EnvironmentVariables: env,
		})
	}
	if o.Image != "" {
		// The container is the hosted mode (MCP over HTTP, OAuth to Sentry);
		// as a package a client runs it with docker over stdio.
		s.Packages = append(s.Packages, pkg{
			RegistryType:         "oci",
			RegistryBaseURL:      "https://" + strings.SplitN(o.Image, "/", 2)[0],
			Identifier:           o.Image + ":" + version,
			Version:              version,
			RuntimeHint:          "docker",
			Transport:            transport{Type: "stdio"},
			RuntimeArguments:     []argument{{Type: "named", Name: "-i"}, {Type: "named", Name: "--rm"}, {Type: "named", Name: "-e", Value: "SENTRY_ACCESS_TOKEN"}, {Type: "named", Name: "-e", Value: "SENTRY_URL"}},
			PackageArguments:     []argument{{Type: "positional", Value: "serve"}},
			EnvironmentVariables: env[:2],
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
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	if err := e.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
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
	flag.StringVar(&o.Dist, "dist", "dist", "GoReleaser's dist directory (with checksums.txt)")
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
