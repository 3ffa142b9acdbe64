// Command gen writes the Claude Desktop bundle's manifest.json from
// packaging/mcpb/manifest.template.json, the version, the target OS and the
// tool list printed by `sentry-mcp tools --demo --json`.
//
//	go run ./packaging/mcpb/gen -version 1.2.3 -os linux -tools tools.json -o manifest.json
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"
)

// tool is what the manifest needs of one entry of `tools --json`.
type tool struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// manifestTool is the manifest's {name, description}.
type manifestTool struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// platforms maps GOOS to the manifest's compatibility.platforms value.
var platforms = map[string]string{"linux": "linux", "darwin": "darwin", "windows": "win32"}

type data struct {
	Version    string
	EntryPoint string
	Command    string
	Tools      []manifestTool
	Platforms  []string
}

// generate renders the template for goos with the tools from toolsJSON.
func generate(tmpl []byte, version, goos string, toolsJSON []byte) ([]byte, error) {
	version = strings.TrimPrefix(version, "v")
	if version == "" || strings.ContainsAny(version, " ()") {
		return nil, fmt.Errorf("version %q: want a release version like 1.2.3", version)
	}
	platform, ok := platforms[goos]
	if !ok {
		return nil, fmt.Errorf("os %q: want linux, darwin or windows", goos)
	}
	var list struct {
		Tools []tool `json:"tools"`
	}
	if err := json.Unmarshal(toolsJSON, &list); err != nil {
		return nil, fmt.Errorf("tools --json: %w", err)
	}
	if len(list.Tools) == 0 {
		return nil, errors.New("tools --json lists no tools")
	}
	d := data{Version: version, EntryPoint: "server/sentry-mcp", Platforms: []string{platform}}
	if goos == "windows" {
		d.EntryPoint += ".exe"
	}
	d.Command = "${__dirname}/" + d.EntryPoint
	for _, t := range list.Tools {
		if t.Name == "" {
			return nil, errors.New("tools --json: a tool without a name")
		}
		desc := t.Description
		if desc == "" {
			desc = t.Title
		}
		d.Tools = append(d.Tools, manifestTool{Name: t.Name, Description: desc})
	}
	t, err := template.New("manifest").Option("missingkey=error").Funcs(template.FuncMap{
		"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
	}).Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var raw bytes.Buffer
	if err := t.Execute(&raw, d); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("the rendered manifest is not JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func main() {
	tmplPath := flag.String("template", "packaging/mcpb/manifest.template.json", "manifest template")
	version := flag.String("version", "", "release version (a leading v is dropped)")
	goos := flag.String("os", "", "target OS: linux, darwin or windows")
	toolsPath := flag.String("tools", "-", "output of `sentry-mcp tools --demo --json` (- = stdin)")
	outPath := flag.String("o", "manifest.json", "where to write the manifest")
	flag.Parse()
	if err := run(*tmplPath, *version, *goos, *toolsPath, *outPath); err != nil {
		fmt.Fprintln(os.Stderr, "mcpb gen:", err)
		os.Exit(1)
	}
}

func run(tmplPath, version, goos, toolsPath, outPath string) error {
	tmpl, err := os.ReadFile(tmplPath)
	if err != nil {
		return err
	}
	var tools []byte
	if toolsPath == "-" {
		tools, err = io.ReadAll(os.Stdin)
	} else {
		tools, err = os.ReadFile(toolsPath)
	}
	if err != nil {
		return err
	}
	out, err := generate(tmpl, version, goos, tools)
	if err != nil {
		return err
	}
	return os.WriteFile(outPath, out, 0o644)
}
