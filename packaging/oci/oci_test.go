// Package oci checks that the hosted-mode container image can be built
// without a container engine: it builds the static binaries, assembles an
// OCI image equal to deploy/Dockerfile's (FROM scratch) with
// go-containerregistry, writes it as an image tarball and checks what a
// runtime would see. Set SENTRY_MCP_OCI_OUT to keep the tarball
// (docker load / podman load take it).
package oci

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sentry-mcp/sentry-mcp/internal/dockerfile"
	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

const (
	dockerfilePath = "../../deploy/Dockerfile"
	caBundle       = "/etc/ssl/certs/ca-certificates.crt"
	testVer        = "v0.0.0-ocitest"
)

// spec is what the final stage of the Dockerfile says.
type spec struct {
	base        string
	entrypoint  []string
	cmd         []string
	user        string
	expose      []string
	env         []string
	volumes     []string
	healthcheck []string
	labels      map[string]string
	copies      []string // destination paths of COPY --from=build
}

// parseFinalStage reads the instructions of the last stage.
func parseFinalStage(text string) (spec, error) {
	var perr error
	fail := func(format string, a ...any) {
		if perr == nil {
			perr = fmt.Errorf(format, a...)
		}
	}
	final := dockerfile.Parse(text).Final()
	if final == nil {
		return spec{}, errors.New("Dockerfile: no FROM")
	}
	jsonArray := func(instr, rest string) []string {
		v, err := dockerfile.JSONArgs(rest)
		if err != nil {
			fail("Dockerfile: %s: %v", instr, err)
		}
		return v
	}
	s := spec{base: final.From}
	for _, in := range final.Instr {
		rest := in.Args
		switch in.Keyword {
		case "ENTRYPOINT":
			s.entrypoint = jsonArray(in.Keyword, rest)
		case "CMD":
			s.cmd = jsonArray(in.Keyword, rest)
		case "USER":
			s.user = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				s.expose = append(s.expose, p)
			}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				if !strings.Contains(kv, "=") {
					fail("Dockerfile: ENV %s: want KEY=VALUE pairs", rest)
				}
				s.env = append(s.env, kv)
			}
		case "VOLUME":
			s.volumes = jsonArray(in.Keyword, rest)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, "CMD ")
			if !ok {
				fail("Dockerfile: HEALTHCHECK %s: no CMD", rest)
			}
			s.healthcheck = append([]string{"CMD"}, jsonArray(in.Keyword, c)...)
		case "COPY":
			f := strings.Fields(rest)
			s.copies = append(s.copies, f[len(f)-1])
		case "LABEL":
			kv, err := dockerfile.Labels(rest)
			if err != nil {
				fail("Dockerfile: %v", err)
			}
			if s.labels == nil {
				s.labels = map[string]string{}
			}
			for k, v := range kv {
				s.labels[k] = v
			}
		case "ARG", "WORKDIR", "STOPSIGNAL":
		default:
			fail("Dockerfile: final stage has %s, which this test does not reproduce: %s %s", in.Keyword, in.Keyword, rest)
		}
	}
	return s, perr
}

func goBuild(t *testing.T, out, pkg string, ldflags string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

type entry struct {
	name string
	mode int64
	uid  int
	body []byte // nil for a directory
}

func layerTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	mt := time.Unix(0, 0)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: mt, Format: tar.FormatPAX}
		if e.body == nil {
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.body != nil {
			tw.Write(e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestImageFromDockerfile(t *testing.T) {
	text, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseFinalStage(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if s.base != "scratch" {
		t.Fatalf("final stage is FROM %s; this test builds FROM scratch only", s.base)
	}
	for _, want := range []string{"/etc/ssl/certs/ca-certificates.crt", "/", "/data", "/tmp"} {
		found := false
		for _, c := range s.copies {
			found = found || c == want
		}
		if !found {
			t.Fatalf("Dockerfile's final stage no longer copies to %s (copies %v): update this test", want, s.copies)
		}
	}

	dir := t.TempDir()
	bin, hc := filepath.Join(dir, "sentry-mcp"), filepath.Join(dir, "healthcheck")
	goBuild(t, bin, ".", "-s -w -X main.version="+testVer)
	goBuild(t, hc, "./deploy/healthcheck", "-s -w")
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	uid := 0
	if u, _, ok := strings.Cut(s.user, ":"); ok || u != "" {
		for _, c := range u {
			uid = uid*10 + int(c-'0')
		}
	}
	var entries []entry
	if ca, err := os.ReadFile(caBundle); err == nil {
		entries = append(entries, entry{name: "etc", mode: 0o755}, entry{name: "etc/ssl", mode: 0o755},
			entry{name: "etc/ssl/certs", mode: 0o755}, entry{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, body: ca})
	} else {
		t.Logf("no CA bundle at %s: the image has none (the Dockerfile's has the build image's)", caBundle)
	}
	entries = append(entries,
		entry{name: "sentry-mcp", mode: 0o755, body: read(bin)},
		entry{name: "healthcheck", mode: 0o755, body: read(hc)},
		entry{name: "data", mode: 0o755, uid: uid},
		entry{name: "tmp", mode: 0o755, uid: uid},
	)
	layerBytes := layerTar(t, entries)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goarch(t)
	cf.Config.Entrypoint = s.entrypoint
	cf.Config.Cmd = s.cmd
	cf.Config.User = s.user
	cf.Config.Env = s.env
	cf.Config.Labels = s.labels
	cf.Config.ExposedPorts = map[string]struct{}{}
	for _, p := range s.expose {
		cf.Config.ExposedPorts[p] = struct{}{}
	}
	cf.Config.Volumes = map[string]struct{}{}
	for _, v := range s.volumes {
		cf.Config.Volumes[v] = struct{}{}
	}
	if s.healthcheck != nil {
		cf.Config.Healthcheck = &v1.HealthConfig{Test: s.healthcheck, Interval: 10 * time.Second, Timeout: 6 * time.Second, StartPeriod: 10 * time.Second, Retries: 3}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "sentry-mcp-image.tar")
	if keep := os.Getenv("SENTRY_MCP_OCI_OUT"); keep != "" {
		out = keep
	}
	ref, err := name.NewTag("ghcr.io/sentry-mcp/sentry-mcp:" + strings.TrimPrefix(testVer, "v"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		t.Fatal(err)
	}

	// Read it back as a runtime would.
	back, err := tarball.ImageFromPath(out, &ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := got.Config
	if strings.Join(c.Entrypoint, " ") != "/sentry-mcp" {
		t.Errorf("entrypoint %q, want [/sentry-mcp]", c.Entrypoint)
	}
	if strings.Join(c.Cmd, " ") != "serve --http 0.0.0.0:8080" {
		t.Errorf("cmd %q", c.Cmd)
	}
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (not root)", c.User)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
	}
	if strings.Join(c.Env, " ") != "HOME=/data XDG_DATA_HOME=/data" {
		t.Errorf("env %q", c.Env)
	}
	if c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") != "CMD /healthcheck http://127.0.0.1:8080/healthz" {
		t.Errorf("healthcheck %+v", c.Healthcheck)
	}
	// The MCP registry pulls the image and accepts it only with this label.
	if got := c.Labels["io.modelcontextprotocol.server.name"]; got != "io.github.sentry-mcp/sentry-mcp" {
		t.Errorf("label io.modelcontextprotocol.server.name = %q, want io.github.sentry-mcp/sentry-mcp (labels %v)", got, c.Labels)
	}
	if got := c.Labels["org.opencontainers.image.source"]; got != "https://github.com/sentry-mcp/sentry-mcp" {
		t.Errorf("label org.opencontainers.image.source = %q", got)
	}
	layers, err := back.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, err %v: want one (FROM scratch)", len(layers), err)
	}

	// The flattened filesystem: an executable /sentry-mcp that runs.
	files := map[string]*tar.Header{}
	rc := mutate.Extract(back)
	defer rc.Close()
	tr := tar.NewReader(rc)
	extracted := filepath.Join(dir, "extracted-sentry-mcp")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = h
		if h.Name == "sentry-mcp" {
			f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(f, tr)
			f.Close()
		}
	}
	for _, p := range []string{"sentry-mcp", "healthcheck"} {
		h := files[p]
		if h == nil || h.Mode&0o111 == 0 {
			t.Errorf("/%s missing or not executable: %+v", p, h)
		}
	}
	for _, p := range []string{"data", "tmp"} {
		if h := files[p]; h == nil || h.Typeflag != tar.TypeDir || h.Uid != 65532 {
			t.Errorf("/%s is not a directory owned by 65532: %+v", p, h)
		}
	}
	if _, err := os.Stat(caBundle); err == nil && files["etc/ssl/certs/ca-certificates.crt"] == nil {
		t.Error("CA bundle missing from the image")
	}
	vout, err := exec.Command(extracted, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(vout), testVer) {
		t.Errorf("/sentry-mcp --version from the image: %v: %q, want %s", err, vout, testVer)
	}
	stdioInImage(t, extracted, c)
	fi, _ := os.Stat(out)
	t.Logf("image tarball %s: %d bytes", out, fi.Size())
}

// stdioInImage runs the image's entrypoint as the MCP registry's oci package
// says a client runs it (docker run -i --rm -e SENTRY_ACCESS_TOKEN -e
// SENTRY_URL IMAGE serve): the image's environment, with its /data a
// temporary directory, and "serve" in place of the hosted-mode command. It
// must answer initialize and tools/list over stdio from the fake Sentry.
func stdioInImage(t *testing.T, entrypoint string, c v1.Config) {
	t.Helper()
	fake := sentrytest.NewServer(sentrytest.DemoData(), sentrytest.Options{})
	defer fake.Close()
	const token = "sntryu_ocitest"
	fake.AddToken(token, "org:read", "project:read", "team:read", "event:read")
	data := t.TempDir()
	env := []string{"PATH=/nonexistent", "SENTRY_ACCESS_TOKEN=" + token, "SENTRY_URL=" + fake.URL}
	for _, kv := range c.Env {
		env = append(env, strings.ReplaceAll(kv, "=/data", "="+data))
	}
	cmd := exec.Command(entrypoint, "serve")
	cmd.Env = env
	cmd.Dir = data
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	io.WriteString(in, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"oci-test","version":"0"}}}`+"\n")
	io.WriteString(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	io.WriteString(in, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`+"\n")
	dec := json.NewDecoder(outPipe)
	var tools []string
	for tools == nil {
		var msg struct {
			ID     int `json:"id"`
			Result struct {
				Tools []struct {
					Name string `json:"name"`
				} `json:"tools"`
			} `json:"result"`
		}
		if err := dec.Decode(&msg); err != nil {
			t.Fatalf("serve in the image: reading stdout: %v\nstderr: %s", err, stderr.String())
		}
		if msg.ID == 2 {
			tools = []string{}
			for _, tl := range msg.Result.Tools {
				tools = append(tools, tl.Name)
			}
		}
	}
	in.Close() // stdin closed: the server exits
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve in the image exited with %v\nstderr: %s", err, stderr.String())
	}
	if len(tools) < 5 || !strings.Contains(strings.Join(tools, " "), "whoami") {
		t.Errorf("serve in the image lists the tools %v", tools)
	}
	t.Logf("serve in the image over stdio: %d tools", len(tools))
}

func TestParseFinalStageRefuses(t *testing.T) {
	for _, df := range []string{
		"FROM scratch\nENTRYPOINT /sentry-mcp serve\n", // shell form needs /bin/sh, which scratch lacks
		"FROM scratch\nRUN true\n",                     // an instruction the test would not reproduce
		"FROM scratch\nENV HOME /data\n",
		"FROM scratch\nLABEL a\n",
		"FROM scratch\nLABEL a=\"b\n",
		"# no stage\n",
	} {
		if _, err := parseFinalStage(df); err == nil {
			t.Errorf("accepted %q", df)
		}
	}
}

func goarch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
