// Package oci checks that the container image can be built without a
// container engine: it builds the static binaries, assembles an OCI image
// equal to deploy/Dockerfile's final stage (FROM scratch; its COPY owners,
// user, ports, environment, labels, health check) with go-containerregistry,
// writes it as an OCI image layout tarball, reads that back and checks what
// a runtime would see, then runs the image's entrypoint as the MCP
// registry's oci package does. Set SENTRY_MCP_OCI_OUT to keep the tarball
// (podman load and skopeo copy oci-archive: take it).
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
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

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
	hcOptions   map[string]string // HEALTHCHECK --interval=... and so on
	labels      map[string]string
	copies      map[string]string // destination path of each COPY -> its --chown ("" for none)
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
			opts, c, ok := strings.Cut(rest, "CMD ")
			if !ok {
				fail("Dockerfile: HEALTHCHECK %s: no CMD", rest)
			}
			s.healthcheck = append([]string{"CMD"}, jsonArray(in.Keyword, c)...)
			s.hcOptions = map[string]string{}
			for _, o := range strings.Fields(opts) {
				k, v, ok := strings.Cut(strings.TrimPrefix(o, "--"), "=")
				if !ok || !strings.HasPrefix(o, "--") {
					fail("Dockerfile: HEALTHCHECK option %q: want --name=value", o)
				}
				s.hcOptions[k] = v
			}
		case "COPY":
			f := strings.Fields(rest)
			owner := ""
			for _, x := range f {
				if v, ok := strings.CutPrefix(x, "--chown="); ok {
					owner = v
				}
			}
			if s.copies == nil {
				s.copies = map[string]string{}
			}
			s.copies[f[len(f)-1]] = owner
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
	name     string
	mode     int64
	uid, gid int
	body     []byte // nil for a directory
}

func layerTar(t *testing.T, entries []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	mt := time.Unix(0, 0)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mt, Format: tar.FormatPAX}
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
	if runtime.GOOS != "linux" {
		t.Skip("runs the image's linux binary on the host")
	}
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
		if _, ok := s.copies[want]; !ok {
			t.Fatalf("Dockerfile's final stage no longer copies to %s (copies %v): update this test", want, s.copies)
		}
	}
	// The owners the Dockerfile gives /data and /tmp go into the layer.
	owned := func(name, owner string) entry {
		e := entry{name: name, mode: 0o755}
		if owner == "" {
			return e
		}
		u, g, ok := strings.Cut(owner, ":")
		var err1, err2 error
		e.uid, err1 = strconv.Atoi(u)
		if e.gid, err2 = strconv.Atoi(g); !ok {
			e.gid, err2 = e.uid, nil // --chown=UID: the group is the same number
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("Dockerfile: --chown=%s: want numeric UID:GID (scratch has no /etc/passwd)", owner)
		}
		return e
	}

	dir := t.TempDir()
	bin, hc := filepath.Join(dir, "sentry-mcp"), filepath.Join(dir, "healthcheck")
	goBuild(t, bin, ".", "-s -w -X main.version="+testVer+" -X main.commit=0123456789ab")
	goBuild(t, hc, "./deploy/healthcheck", "-s -w")
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
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
		owned("data", s.copies["/data"]),
		owned("tmp", s.copies["/tmp"]),
	)
	layerBytes := layerTar(t, entries)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
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
		hc := &v1.HealthConfig{Test: s.healthcheck}
		for k, v := range s.hcOptions {
			var err error
			switch k {
			case "interval":
				hc.Interval, err = time.ParseDuration(v)
			case "timeout":
				hc.Timeout, err = time.ParseDuration(v)
			case "start-period":
				hc.StartPeriod, err = time.ParseDuration(v)
			case "retries":
				hc.Retries, err = strconv.Atoi(v)
			default:
				err = errors.New("not an option this test knows")
			}
			if err != nil {
				t.Fatalf("Dockerfile: HEALTHCHECK --%s=%s: %v", k, v, err)
			}
		}
		cf.Config.Healthcheck = hc
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}

	// An OCI image layout (index.json, blobs/), as a tarball: what
	// `podman load` and `skopeo copy oci-archive:` take.
	out := filepath.Join(dir, "sentry-mcp-image.oci.tar")
	if keep := os.Getenv("SENTRY_MCP_OCI_OUT"); keep != "" {
		out = keep
	}
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	tag := strings.TrimPrefix(testVer, "v")
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		t.Fatal(err)
	}
	tarDir(t, filepath.Join(dir, "layout"), out)

	// Read it back as a runtime would: unpack, open the layout, find the tag.
	unpacked := filepath.Join(dir, "unpacked")
	untar(t, out, unpacked)
	back := imageFromLayout(t, unpacked, tag)
	if mt, err := back.MediaType(); err != nil || mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %q (%v), want %s", mt, err, types.OCIManifestSchema1)
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
	} else if h := c.Healthcheck; h.Interval <= 0 || h.Timeout <= 0 || h.Timeout >= h.Interval || h.Retries < 1 {
		t.Errorf("healthcheck timings %+v: want a timeout shorter than the interval, and retries", h)
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
	// The server runs as USER and must be able to write /data and /tmp.
	user, _, _ := strings.Cut(c.User, ":")
	for _, p := range []string{"data", "tmp"} {
		if h := files[p]; h == nil || h.Typeflag != tar.TypeDir || strconv.Itoa(h.Uid) != user {
			t.Errorf("/%s is not a directory owned by the image's user %s: %+v", p, user, h)
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
	exited := false
	defer func() { // also when a check below ends the test
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
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
	exited = true
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

// tarDir writes the files under dir into the tarball out.
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// untar unpacks the regular files and directories of the tarball in into dir.
func untar(t *testing.T, in, dir string) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("%s: entry %q leaves the directory", in, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
				var w *os.File
				if w, err = os.Create(p); err == nil {
					_, err = io.Copy(w, tr)
					w.Close()
				}
			}
		default:
			t.Fatalf("%s: entry %q of type %c", in, h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// imageFromLayout opens the OCI layout at dir and returns the image tagged tag.
func imageFromLayout(t *testing.T, dir, tag string) v1.Image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			img, err := lp.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("%s: no image tagged %s in index.json (%+v)", dir, tag, im.Manifests)
	return nil
}
