package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/hosted/store/storetest"
	"github.com/sentry-mcp/sentry-mcp/internal/dockerfile"
)

// The files of deploy/ agree with the code: the flags and environment
// variables they set are serve's (settings.go), the probes are routes the
// server answers with 200 when configured as the files configure it, the
// ports line up, the database is PostgreSQL, the image runs as non-root,
// and there are at least three replicas.

const deployDir = "../../deploy"

// deployFiles are the files the checks read, by path under deploy/.
var deployFiles = []string{
	"Dockerfile", "Dockerfile.dockerignore", "compose.yaml", "env.example",
	"kubernetes/deployment.yaml", "kubernetes/service.yaml", "kubernetes/secret.example.yaml",
	"kubernetes/pdb.yaml", "kubernetes/kustomization.yaml",
}

// extraEnv are the variables serve --http reads outside the settings
// table (runServeHTTP, encryptionKeys).
var extraEnv = []string{"SENTRY_CLIENT_ID", "SENTRY_CLIENT_SECRET", "SENTRY_MCP_ENCRYPTION_KEY"}

// imageEnv are the variables the image may set besides those: where the
// default SQLite database goes (store.DefaultPath).
var imageEnv = []string{"HOME", "XDG_DATA_HOME"}

// serverGrace is the longest serve --http takes after SIGTERM:
// shutdownGrace for in-flight calls, then a refresh's attempt timeout plus
// 5 s (runServeHTTP).
const serverGrace = shutdownGrace + auth.DefaultAttemptTimeout + 5*time.Second

func readDeploy(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, f := range deployFiles {
		b, err := os.ReadFile(filepath.Join(deployDir, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	return files
}

func TestDeployFiles(t *testing.T) {
	d, problems := checkDeploy(readDeploy(t))
	for _, p := range problems {
		t.Error(p)
	}
	if t.Failed() {
		return
	}
	t.Run("live", func(t *testing.T) { checkDeployLive(t, d) })
}

// Each kind of mismatch is caught: the checks fail on a broken copy.
func TestDeployChecksCatchMismatches(t *testing.T) {
	tests := []struct {
		file, old, new string
		want           string
	}{
		{"kubernetes/deployment.yaml", "replicas: 3", "replicas: 2", "replicas"},
		{"kubernetes/deployment.yaml", "path: /readyz", "path: /ready", "readinessProbe path"},
		{"kubernetes/deployment.yaml", "path: /healthz", "path: /health", "livenessProbe path"},
		{"kubernetes/deployment.yaml", "containerPort: 8080", "containerPort: 8081", "containerPort"},
		{"kubernetes/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"kubernetes/deployment.yaml", "runAsNonRoot: true\n        runAsUser", "runAsNonRoot: false\n        runAsUser", "runAsNonRoot"},
		{"kubernetes/deployment.yaml", "runAsUser: 65532\n            allowPrivilegeEscalation", "runAsUser: 0\n            allowPrivilegeEscalation", "runAsUser 0"},
		{"kubernetes/deployment.yaml", "name: SENTRY_MCP_TRUSTED_PROXIES", "name: SENTRY_MCP_TRUSTED_PROXY", "SENTRY_MCP_TRUSTED_PROXY"},
		{"kubernetes/deployment.yaml", `"0.0.0.0:8080"]`, `"0.0.0.0:8080", "--verbose"]`, "--verbose"},
		{"kubernetes/deployment.yaml", "value: mcp.example.com", "value: mcp.example.org", "Host"},
		{"kubernetes/deployment.yaml", "terminationGracePeriodSeconds: 65", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds"},
		{"kubernetes/deployment.yaml", "name: sentry-mcp\n          env:", "name: sentry-mcp-secrets\n          env:", "secretRef"},
		{"kubernetes/secret.example.yaml", "SENTRY_MCP_DATABASE_URL: postgres://", "SENTRY_MCP_DATABASE_URL: mysql://", "postgres://"},
		{"kubernetes/secret.example.yaml", "SENTRY_CLIENT_SECRET: REPLACE_ME", "SENTRY_CLIENT_SECRET: 4f1b2c3d4e5f", "placeholder"},
		{"kubernetes/service.yaml", "targetPort: http", "targetPort: web", "targetPort"},
		{"kubernetes/pdb.yaml", "minAvailable: 2", "minAvailable: 3", "minAvailable"},
		{"kubernetes/kustomization.yaml", "  - pdb.yaml\n", "  - pdb.yaml\n  - secret.example.yaml\n", "secret.example.yaml"},
		{"compose.yaml", "SENTRY_MCP_PUBLIC_URL: ${", "SENTRY_MCP_PUBLIC: ${", "SENTRY_MCP_PUBLIC"},
		{"compose.yaml", "SENTRY_MCP_DATABASE_URL: postgres://", "SENTRY_MCP_DATABASE_URL: sqlite://", "postgres://"},
		{"compose.yaml", "@postgres:5432", "@db:5432", "service"},
		{"compose.yaml", `"127.0.0.1:8080:8080"`, `"127.0.0.1:8080:9090"`, "port"},
		{"compose.yaml", `"http://127.0.0.1:8080/healthz"]`, `"http://127.0.0.1:8080/health"]`, "healthcheck"},
		{"compose.yaml", `user: "65532:65532"`, `user: "0:0"`, "root"},
		{"compose.yaml", "condition: service_healthy", "condition: service_started", "service_healthy"},
		{"compose.yaml", "pg_isready", "true ||", "pg_isready"},
		{"compose.yaml", "stop_grace_period: 60s", "stop_grace_period: 10s", "stop_grace_period"},
		{"compose.yaml", "${SENTRY_CLIENT_ID:?", "${SENTRY_CLIENT:?", "env.example"},
		{"Dockerfile", "FROM scratch", "FROM debian:12", "final stage"},
		{"Dockerfile", "USER 65532:65532", "USER root", "USER"},
		{"Dockerfile", "EXPOSE 8080", "EXPOSE 80", "EXPOSE"},
		{"Dockerfile", `CMD ["serve", "--http", "0.0.0.0:8080"]`, `CMD ["serve", "--listen", "0.0.0.0:8080"]`, "--listen"},
		{"Dockerfile", "-X main.version=", "-X main.Version=", "main.version"},
		{"Dockerfile", "ENV CGO_ENABLED=0", "ENV CGO_ENABLED=1", "CGO_ENABLED"},
		{"Dockerfile", "ENV HOME=/data", "ENV SENTRY_MCP_DATA=/x HOME=/data", "SENTRY_MCP_DATA"},
		{"Dockerfile", "/out/sentry-mcp /out/healthcheck /", "/out/sentry-mcp /", "/out/healthcheck"},
		{"Dockerfile.dockerignore", "deploy/.env\n", "", "deploy/.env"},
		{"Dockerfile", "ARG GO_VERSION=1.26.8", "ARG GO_VERSION=1.22", "go.mod"},
		{"Dockerfile", `"http://127.0.0.1:8080/healthz"]`, `"http://127.0.0.1:8080/status"]`, "HEALTHCHECK"},
		{"Dockerfile", "FROM --platform=$BUILDPLATFORM ", "FROM ", "BUILDPLATFORM"},
		{"Dockerfile", "ARG TARGETOS TARGETARCH", "ARG TARGETOS", "TARGETARCH"},
		{"Dockerfile", "-X main.commit=${COMMIT}", "", "main.commit"},
		{"Dockerfile", `LABEL io.modelcontextprotocol.server.name="io.github.sentry-mcp/sentry-mcp"`, `LABEL io.modelcontextprotocol.server.name="sentry-mcp"`, "io.modelcontextprotocol.server.name"},
		{"Dockerfile.dockerignore", "dist\n", "", "dist"},
	}
	orig := readDeploy(t)
	if _, problems := checkDeploy(orig); len(problems) > 0 {
		t.Fatalf("the files themselves do not pass: %v", problems)
	}
	for _, tc := range tests {
		t.Run(tc.file+": "+tc.new, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range orig {
				files[k] = v
			}
			if !strings.Contains(files[tc.file], tc.old) {
				t.Fatalf("%s has no %q", tc.file, tc.old)
			}
			files[tc.file] = strings.Replace(files[tc.file], tc.old, tc.new, 1)
			_, problems := checkDeploy(files)
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem mentions %q; got %q", tc.want, problems)
		})
	}
}

// deployment is what the live check needs from the files.
type deployment struct {
	// args, env: how each file runs the server.
	runs []deployRun
}

// deployRun is one way the files run serve, with the requests that must
// get 200 from it.
type deployRun struct {
	name     string
	args     []string          // after the binary; --http as written
	env      map[string]string // non-secret variables as configured
	replicas int               // started at once on one database (0 = 1)
	postgres bool              // the file's database is PostgreSQL
	probes   []deployProbe
}

type deployProbe struct {
	name    string
	path    string
	headers map[string]string
	command []string // instead of path: run this (the healthcheck program) with 8080 replaced
}

// checkDeploy parses the files and returns what is wrong with them.
func checkDeploy(files map[string]string) (*deployment, []string) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	d := &deployment{}

	known := map[string]bool{}
	for _, s := range cmdServe.settings {
		if s.env != "" {
			known[s.env] = true
		}
	}
	for _, e := range extraEnv {
		known[e] = true
	}
	checkEnv := func(where, name string) {
		if !known[name] {
			bad("%s: environment variable %s is not one serve reads (internal/cli/settings.go)", where, name)
		}
	}

	// --- Dockerfile
	df := dockerfile.Parse(files["Dockerfile"])
	var imageArgs []string
	var healthPath string
	if len(df.Stages) < 2 {
		bad("Dockerfile: want a multi-stage build, got %d stage(s)", len(df.Stages))
	} else {
		build, final := df.Stages[0], df.Stages[len(df.Stages)-1]
		// Fully qualified, as podman and buildah need without a search registry.
		if m := regexp.MustCompile(`^docker\.io/library/golang:(\d+\.\d+(?:\.\d+)?)`).FindStringSubmatch(build.From); m == nil {
			bad("Dockerfile: build stage FROM %q, want docker.io/library/golang:VERSION", build.From)
		} else if want := goModVersion(); compareVersions(m[1], want) < 0 {
			bad("Dockerfile: build stage Go %s is older than go.mod's go %s", m[1], want)
		}
		run := strings.Join(build.All("RUN"), "\n")
		// A multi-arch image cross-compiles on the builder's platform; the
		// target's ARGs are empty in a stage that does not declare them.
		args := map[string]bool{}
		for _, a := range build.All("ARG") {
			for _, f := range strings.Fields(a) {
				k, _, _ := strings.Cut(f, "=")
				args[k] = true
			}
		}
		if build.Platform != "$BUILDPLATFORM" || !strings.Contains(run, "GOOS=$TARGETOS GOARCH=$TARGETARCH go build") || !args["TARGETOS"] || !args["TARGETARCH"] {
			bad("Dockerfile: the build stage must run on $BUILDPLATFORM, declare ARG TARGETOS TARGETARCH and build for $TARGETOS/$TARGETARCH (platform %q)", build.Platform)
		}
		envs := build.Env()
		if envs["CGO_ENABLED"] != "0" {
			bad("Dockerfile: the build stage must set CGO_ENABLED=0 (static binary), has %q", envs["CGO_ENABLED"])
		}
		for _, want := range []string{"go build -trimpath", "-s -w", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-o /out/sentry-mcp .", "./deploy/healthcheck"} {
			if !strings.Contains(run, want) {
				bad("Dockerfile: the build's RUN lacks %q", want)
			}
		}
		if !mainHasVersionVar() {
			bad("Dockerfile: -X main.version= and -X main.commit= set nothing: main.go has no `var version, commit string`")
		}
		if final.From != "scratch" && !strings.HasPrefix(final.From, "gcr.io/distroless/static") {
			bad("Dockerfile: final stage FROM %q, want scratch or gcr.io/distroless/static", final.From)
		}
		// The MCP registry accepts the image only with the server's name as a label.
		labels := map[string]string{}
		for _, l := range final.All("LABEL") {
			kv, err := dockerfile.Labels(l)
			if err != nil {
				bad("Dockerfile: %v", err)
			}
			for k, v := range kv {
				labels[k] = v
			}
		}
		if got := labels["io.modelcontextprotocol.server.name"]; got != "io.github.sentry-mcp/sentry-mcp" {
			bad("Dockerfile: LABEL io.modelcontextprotocol.server.name is %q, want io.github.sentry-mcp/sentry-mcp (the registry checks it)", got)
		}
		copies := strings.Join(final.All("COPY"), "\n")
		if !strings.Contains(copies, "/etc/ssl/certs/ca-certificates.crt") {
			bad("Dockerfile: the final stage does not copy the CA certificates (Sentry is reached over https)")
		}
		for _, want := range []string{"/out/sentry-mcp", "/out/healthcheck"} {
			if !regexp.MustCompile(regexp.QuoteMeta(want) + `\b.* /\n`).MatchString(copies + "\n") {
				bad("Dockerfile: the final stage does not copy %s to /", want)
			}
		}
		if u := final.Last("USER"); !nonRootUser(u) {
			bad("Dockerfile: USER %q, want a numeric non-root uid (e.g. 65532:65532)", u)
		}
		for k := range final.Env() {
			if !slices.Contains(imageEnv, k) {
				checkEnv("Dockerfile ENV", k)
			}
		}
		ep, err := dockerfile.JSONArgs(final.Last("ENTRYPOINT"))
		if err != nil || !slices.Equal(ep, []string{"/sentry-mcp"}) {
			bad(`Dockerfile: ENTRYPOINT %q, want ["/sentry-mcp"]`, final.Last("ENTRYPOINT"))
		}
		imageArgs, err = dockerfile.JSONArgs(final.Last("CMD"))
		if err != nil {
			bad("Dockerfile: CMD: %v", err)
		}
		port := checkServeArgs("Dockerfile CMD", imageArgs, bad)
		if expose := final.Last("EXPOSE"); expose != port {
			bad("Dockerfile: EXPOSE %q, but CMD serves --http on port %q", expose, port)
		}
		hc := final.Last("HEALTHCHECK")
		if i := strings.Index(hc, "CMD "); i < 0 {
			bad("Dockerfile: no HEALTHCHECK ... CMD")
		} else if cmd, err := dockerfile.JSONArgs(hc[i+4:]); err != nil || len(cmd) != 2 || cmd[0] != "/healthcheck" {
			bad(`Dockerfile: HEALTHCHECK %q, want CMD ["/healthcheck", "http://127.0.0.1:PORT/healthz"]`, hc)
		} else {
			healthPath = checkHealthURL("Dockerfile HEALTHCHECK", cmd[1], port, "/healthz", bad)
		}
	}

	ignored := map[string]bool{}
	for _, l := range strings.Split(files["Dockerfile.dockerignore"], "\n") {
		ignored[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{"deploy/.env", ".git", "dist"} {
		if !ignored[want] {
			bad("Dockerfile.dockerignore: %s must be left out of the build context", want)
		}
	}

	// --- compose.yaml and env.example
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
			User        string            `yaml:"user"`
			ReadOnly    bool              `yaml:"read_only"`
			StopGrace   string            `yaml:"stop_grace_period"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
			Build struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(files["compose.yaml"]), &compose); err != nil {
		bad("compose.yaml: %v", err)
	}
	example := parseEnvFile(files["env.example"])
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[-?])?`).FindAllStringSubmatch(files["compose.yaml"], -1) {
		if _, ok := example[m[1]]; !ok {
			bad("compose.yaml: ${%s} is not in env.example", m[1])
		}
	}
	for k := range example {
		if !strings.Contains(files["compose.yaml"], "${"+k) {
			bad("env.example: %s is not used by compose.yaml", k)
		}
	}
	pg, ok := compose.Services["postgres"]
	if !ok {
		bad("compose.yaml: no postgres service")
	} else {
		if !regexp.MustCompile(`^postgres:\d+`).MatchString(pg.Image) {
			bad("compose.yaml: postgres image %q, want the official postgres:MAJOR", pg.Image)
		}
		if !strings.Contains(strings.Join(pg.Healthcheck.Test, " "), "pg_isready") {
			bad("compose.yaml: the postgres healthcheck %q does not run pg_isready", pg.Healthcheck.Test)
		}
	}
	app, ok := compose.Services["sentry-mcp"]
	if !ok {
		bad("compose.yaml: no sentry-mcp service")
	} else {
		if app.Build.Context != ".." || app.Build.Dockerfile != "deploy/Dockerfile" {
			bad("compose.yaml: build %+v, want context .. and dockerfile deploy/Dockerfile", app.Build)
		}
		if app.DependsOn["postgres"].Condition != "service_healthy" {
			bad("compose.yaml: sentry-mcp must depend on postgres with condition service_healthy")
		}
		if !nonRootUser(app.User) {
			bad("compose.yaml: user %q: want a numeric non-root uid", app.User)
		}
		if !app.ReadOnly {
			bad("compose.yaml: sentry-mcp should have read_only: true")
		}
		if g, err := time.ParseDuration(app.StopGrace); err != nil || g < serverGrace {
			bad("compose.yaml: stop_grace_period %q is shorter than the server's shutdown (%v)", app.StopGrace, serverGrace)
		}
		args := app.Command
		if args == nil {
			args = imageArgs
		}
		port := checkServeArgs("compose.yaml command", args, bad)
		published := false
		for _, p := range app.Ports {
			if i := strings.LastIndex(p, ":"); i >= 0 && p[i+1:] == port {
				published = true
			}
		}
		if !published {
			bad("compose.yaml: ports %q do not publish the container port %s that --http serves", app.Ports, port)
		}
		for k := range app.Environment {
			checkEnv("compose.yaml", k)
		}
		checkPostgresURL("compose.yaml SENTRY_MCP_DATABASE_URL", app.Environment["SENTRY_MCP_DATABASE_URL"], bad)
		if u, err := url.Parse(expandCompose(app.Environment["SENTRY_MCP_DATABASE_URL"], example)); err == nil {
			if _, ok := compose.Services[u.Hostname()]; !ok {
				bad("compose.yaml: the database URL's host %q is not a service", u.Hostname())
			}
			if pg.Environment != nil && (u.User.Username() != pg.Environment["POSTGRES_USER"] || strings.TrimPrefix(u.Path, "/") != pg.Environment["POSTGRES_DB"]) {
				bad("compose.yaml: the database URL's user/database %s%s differ from POSTGRES_USER/POSTGRES_DB", u.User.Username(), u.Path)
			}
		}
		test := app.Healthcheck.Test
		var hc deployProbe
		if len(test) != 3 || test[0] != "CMD" || test[1] != "/healthcheck" {
			bad(`compose.yaml: healthcheck %q, want ["CMD", "/healthcheck", "http://127.0.0.1:PORT/healthz"]`, test)
		} else {
			checkHealthURL("compose.yaml healthcheck", test[2], port, "/healthz", bad)
			hc = deployProbe{name: "compose healthcheck", command: test[1:]}
		}
		env := map[string]string{}
		for k, v := range app.Environment {
			if k != "SENTRY_MCP_DATABASE_URL" && !slices.Contains(extraEnv, k) {
				env[k] = expandCompose(v, example)
			}
		}
		d.runs = append(d.runs, deployRun{name: "compose", args: args, env: env, postgres: true, probes: []deployProbe{hc}})
	}
	if healthPath != "" {
		d.runs = append(d.runs, deployRun{name: "image", args: imageArgs, env: map[string]string{"SENTRY_MCP_PUBLIC_URL": "http://localhost:8080"},
			probes: []deployProbe{{name: "Dockerfile HEALTHCHECK", command: []string{"/healthcheck", "http://127.0.0.1:8080" + healthPath}}}})
	}

	// --- Kubernetes
	type probe struct {
		HTTPGet *struct {
			Path        string `yaml:"path"`
			Port        any    `yaml:"port"`
			HTTPHeaders []struct {
				Name  string `yaml:"name"`
				Value string `yaml:"value"`
			} `yaml:"httpHeaders"`
		} `yaml:"httpGet"`
	}
	type secCtx struct {
		RunAsNonRoot           *bool `yaml:"runAsNonRoot"`
		RunAsUser              *int  `yaml:"runAsUser"`
		ReadOnlyRootFilesystem *bool `yaml:"readOnlyRootFilesystem"`
	}
	var dep struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Replicas int `yaml:"replicas"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					TerminationGrace int    `yaml:"terminationGracePeriodSeconds"`
					SecurityContext  secCtx `yaml:"securityContext"`
					Containers       []struct {
						Name  string   `yaml:"name"`
						Args  []string `yaml:"args"`
						Ports []struct {
							Name          string `yaml:"name"`
							ContainerPort int    `yaml:"containerPort"`
						} `yaml:"ports"`
						EnvFrom []struct {
							SecretRef *struct {
								Name string `yaml:"name"`
							} `yaml:"secretRef"`
						} `yaml:"envFrom"`
						Env []struct {
							Name  string `yaml:"name"`
							Value string `yaml:"value"`
						} `yaml:"env"`
						ReadinessProbe  probe  `yaml:"readinessProbe"`
						LivenessProbe   probe  `yaml:"livenessProbe"`
						SecurityContext secCtx `yaml:"securityContext"`
						Lifecycle       struct {
							PreStop struct {
								Sleep struct {
									Seconds int `yaml:"seconds"`
								} `yaml:"sleep"`
							} `yaml:"preStop"`
						} `yaml:"lifecycle"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(files["kubernetes/deployment.yaml"]), &dep); err != nil {
		bad("kubernetes/deployment.yaml: %v", err)
	}
	var secret struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal([]byte(files["kubernetes/secret.example.yaml"]), &secret); err != nil {
		bad("kubernetes/secret.example.yaml: %v", err)
	}
	if secret.Kind != "Secret" {
		bad("kubernetes/secret.example.yaml: kind %q, want Secret", secret.Kind)
	}
	for k, v := range secret.StringData {
		checkEnv("kubernetes/secret.example.yaml", k)
		if !strings.Contains(v, "REPLACE_ME") {
			bad("kubernetes/secret.example.yaml: %s must be a placeholder (contain REPLACE_ME), never a real secret", k)
		}
	}
	for _, k := range append([]string{"SENTRY_MCP_DATABASE_URL"}, extraEnv...) {
		if _, ok := secret.StringData[k]; !ok {
			bad("kubernetes/secret.example.yaml: no %s", k)
		}
	}
	checkPostgresURL("kubernetes/secret.example.yaml SENTRY_MCP_DATABASE_URL", secret.StringData["SENTRY_MCP_DATABASE_URL"], bad)

	spec := dep.Spec.Template.Spec
	if dep.Kind != "Deployment" {
		bad("kubernetes/deployment.yaml: kind %q, want Deployment", dep.Kind)
	}
	if dep.Spec.Replicas < 3 {
		bad("kubernetes/deployment.yaml: replicas %d, want at least 3", dep.Spec.Replicas)
	}
	if !labelsMatch(dep.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels) {
		bad("kubernetes/deployment.yaml: the selector does not match the pod labels")
	}
	if len(spec.Containers) != 1 {
		bad("kubernetes/deployment.yaml: want one container, got %d", len(spec.Containers))
	} else {
		c := spec.Containers[0]
		preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		if g := time.Duration(spec.TerminationGrace) * time.Second; g < preStop+serverGrace {
			bad("kubernetes/deployment.yaml: terminationGracePeriodSeconds %d is shorter than preStop plus the server's shutdown (%v)", spec.TerminationGrace, preStop+serverGrace)
		}
		for _, sc := range []secCtx{spec.SecurityContext, c.SecurityContext} {
			if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
				bad("kubernetes/deployment.yaml: runAsNonRoot is false")
			}
			if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				bad("kubernetes/deployment.yaml: runAsUser 0 (root)")
			}
		}
		if c.SecurityContext.RunAsNonRoot == nil && spec.SecurityContext.RunAsNonRoot == nil {
			bad("kubernetes/deployment.yaml: no runAsNonRoot")
		}
		if c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			bad("kubernetes/deployment.yaml: the container needs readOnlyRootFilesystem: true")
		}
		args := c.Args
		if args == nil {
			args = imageArgs
		}
		port := checkServeArgs("kubernetes/deployment.yaml args", args, bad)
		portNames := map[string]string{}
		found := false
		for _, p := range c.Ports {
			portNames[p.Name] = strconv.Itoa(p.ContainerPort)
			found = found || strconv.Itoa(p.ContainerPort) == port
		}
		if !found {
			bad("kubernetes/deployment.yaml: no containerPort equals the --http port %s", port)
		}
		fromSecret := false
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				if e.SecretRef.Name != secret.Metadata.Name {
					bad("kubernetes/deployment.yaml: envFrom secretRef %q, but the Secret is %q", e.SecretRef.Name, secret.Metadata.Name)
				}
				fromSecret = true
			}
		}
		if !fromSecret {
			bad("kubernetes/deployment.yaml: the keys must come from the Secret (envFrom secretRef)")
		}
		env := map[string]string{}
		for _, e := range c.Env {
			checkEnv("kubernetes/deployment.yaml", e.Name)
			env[e.Name] = e.Value
		}
		public, err := url.Parse(env["SENTRY_MCP_PUBLIC_URL"])
		if err != nil || public.Scheme != "https" || public.Host == "" {
			bad("kubernetes/deployment.yaml: SENTRY_MCP_PUBLIC_URL %q, want an https origin", env["SENTRY_MCP_PUBLIC_URL"])
			public = &url.URL{}
		}
		run := deployRun{name: "kubernetes", args: args, env: env, replicas: dep.Spec.Replicas, postgres: true}
		for _, p := range []struct {
			name  string
			probe probe
			path  string
		}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
			g := p.probe.HTTPGet
			if g == nil {
				bad("kubernetes/deployment.yaml: no %s httpGet", p.name)
				continue
			}
			if g.Path != p.path {
				bad("kubernetes/deployment.yaml: %s path %q, want %s", p.name, g.Path, p.path)
			}
			if pp := fmt.Sprint(g.Port); pp != port && portNames[pp] != port {
				bad("kubernetes/deployment.yaml: %s port %q is not the --http port %s", p.name, pp, port)
			}
			headers := map[string]string{}
			for _, h := range g.HTTPHeaders {
				headers[h.Name] = h.Value
			}
			if headers["Host"] != public.Host {
				bad("kubernetes/deployment.yaml: %s Host header %q, want %q (the public URL's host: the server answers 421 to any other)", p.name, headers["Host"], public.Host)
			}
			run.probes = append(run.probes, deployProbe{name: p.name, path: g.Path, headers: headers})
		}
		d.runs = append(d.runs, run)

		var svc struct {
			Spec struct {
				Selector map[string]string `yaml:"selector"`
				Ports    []struct {
					TargetPort any `yaml:"targetPort"`
				} `yaml:"ports"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal([]byte(files["kubernetes/service.yaml"]), &svc); err != nil {
			bad("kubernetes/service.yaml: %v", err)
		}
		if !labelsMatch(svc.Spec.Selector, dep.Spec.Template.Metadata.Labels) {
			bad("kubernetes/service.yaml: the selector does not match the pods")
		}
		for _, p := range svc.Spec.Ports {
			if tp := fmt.Sprint(p.TargetPort); tp != port && portNames[tp] != port {
				bad("kubernetes/service.yaml: targetPort %q is not the --http port %s", tp, port)
			}
		}
	}
	var pdb struct {
		Kind string `yaml:"kind"`
		Spec struct {
			MinAvailable int `yaml:"minAvailable"`
			Selector     struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(files["kubernetes/pdb.yaml"]), &pdb); err != nil {
		bad("kubernetes/pdb.yaml: %v", err)
	}
	if pdb.Kind != "PodDisruptionBudget" || pdb.Spec.MinAvailable < 1 || pdb.Spec.MinAvailable >= dep.Spec.Replicas {
		bad("kubernetes/pdb.yaml: minAvailable %d, want at least 1 and fewer than the %d replicas (else no node can be drained)", pdb.Spec.MinAvailable, dep.Spec.Replicas)
	}
	if !labelsMatch(pdb.Spec.Selector.MatchLabels, dep.Spec.Template.Metadata.Labels) {
		bad("kubernetes/pdb.yaml: the selector does not match the pods")
	}
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal([]byte(files["kubernetes/kustomization.yaml"]), &kust); err != nil {
		bad("kubernetes/kustomization.yaml: %v", err)
	}
	for _, r := range kust.Resources {
		if _, ok := files["kubernetes/"+r]; !ok {
			bad("kubernetes/kustomization.yaml: resource %s is not a file checked here", r)
		}
		if strings.Contains(r, "secret") {
			bad("kubernetes/kustomization.yaml: %s holds placeholders and must not be applied", r)
		}
	}
	return d, problems
}

// checkServeArgs checks args are `serve` and serve's flags, and returns
// the port of --http.
func checkServeArgs(where string, args []string, bad func(string, ...any)) string {
	if len(args) == 0 || args[0] != "serve" {
		bad("%s: %q, want serve ...", where, args)
		return ""
	}
	flags := map[string]setting{}
	for _, s := range cmdServe.settings {
		flags[s.flag] = s
	}
	var httpAddr string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			bad("%s: unexpected argument %q", where, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		s, ok := flags[name]
		if !ok {
			bad("%s: %s is not a flag of serve (internal/cli/settings.go)", where, a)
			continue
		}
		if s.arg != "" && !hasVal {
			if i+1 == len(args) {
				bad("%s: %s needs a value", where, a)
				continue
			}
			i++
			val = args[i]
		}
		if name == "http" {
			httpAddr = val
		}
	}
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		bad("%s: --http %q: want HOST:PORT", where, httpAddr)
	}
	if host, _, _ := net.SplitHostPort(httpAddr); host != "0.0.0.0" && host != "" && host != "::" {
		bad("%s: --http %q listens on %q only: in a container it must listen on all addresses", where, httpAddr, host)
	}
	return port
}

// checkHealthURL checks u is http://127.0.0.1:port + path and returns the
// path.
func checkHealthURL(where, raw, port, path string, bad func(string, ...any)) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() != port || u.Path != path {
		bad("%s: %q, want http://127.0.0.1:%s%s (the --http port and a route the server serves)", where, raw, port, path)
		return ""
	}
	return u.Path
}

func checkPostgresURL(where, raw string, bad func(string, ...any)) {
	if !strings.HasPrefix(raw, "postgres://") {
		bad("%s: %q, want postgres:// (several replicas share PostgreSQL)", where, raw)
	}
}

func nonRootUser(u string) bool {
	uid, _, _ := strings.Cut(u, ":")
	n, err := strconv.Atoi(uid)
	return err == nil && n > 0
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// expandCompose replaces ${VAR...} with env.example's value, or the
// default after :- .
func expandCompose(s string, example map[string]string) string {
	return regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}`).ReplaceAllStringFunc(s, func(m string) string {
		p := regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}`).FindStringSubmatch(m)
		if v, ok := example[p[1]]; ok {
			return v
		}
		if p[2] == "-" {
			return p[3]
		}
		return ""
	})
}

func parseEnvFile(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		m[k] = v
	}
	return m
}

func goModVersion() string {
	b, _ := os.ReadFile("../../go.mod")
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	if m == nil {
		return "0"
	}
	return string(m[1])
}

func mainHasVersionVar() bool {
	b, _ := os.ReadFile("../../main.go")
	return regexp.MustCompile(`(?m)^var version, commit string$`).Match(b)
}

// compareVersions compares dotted version numbers (1.26 < 1.26.8).
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// checkDeployLive runs the built binary as each file runs it (on the demo
// Sentry, with a free port for 8080, listening on all addresses as in a
// container) and sends each probe: it must get 200. A probe without the
// public host is refused, which is why the probes name it.
func checkDeployLive(t *testing.T, d *deployment) {
	dir := t.TempDir()
	healthcheck := filepath.Join(dir, "healthcheck")
	if out, err := exec.Command("go", "build", "-o", healthcheck, "../../deploy/healthcheck").CombinedOutput(); err != nil {
		t.Fatalf("building deploy/healthcheck: %v\n%s", err, out)
	}
	for _, run := range d.runs {
		t.Run(run.name, func(t *testing.T) {
			env := []string{"XDG_DATA_HOME=" + t.TempDir()}
			for k, v := range run.env {
				env = append(env, k+"="+v)
			}
			if run.postgres {
				if dsn := deployPostgres(t); dsn != "" {
					env = append(env, "SENTRY_MCP_DATABASE_URL="+dsn)
				}
			}
			// Replicas start at once, as a Deployment's pods do, on one
			// database (the demo's SQLite is per process).
			ports := make([]string, max(run.replicas, 1))
			for i := range ports {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				_, ports[i], _ = net.SplitHostPort(ln.Addr().String())
				ln.Close()
			}
			var wg sync.WaitGroup
			for _, port := range ports {
				args := slices.Clone(run.args[1:])
				for i, a := range args {
					if strings.HasSuffix(a, ":8080") {
						args[i] = "0.0.0.0:" + port
					}
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					startDeployed(t, env, port, append(args, "--demo")...)
				}()
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			for _, port := range ports {
				probeDeployed(t, run, port, healthcheck)
			}
		})
	}
}

// probeDeployed sends run's probes to the server on port: each gets 200,
// and the same without its Host gets 421.
func probeDeployed(t *testing.T, run deployRun, port, healthcheck string) {
	t.Helper()
	base := "http://127.0.0.1:" + port
	for _, p := range run.probes {
		if p.command != nil {
			target := strings.Replace(p.command[1], ":8080", ":"+port, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, healthcheck, target)
			cmd.Env = []string{"SENTRY_MCP_PUBLIC_URL=" + run.env["SENTRY_MCP_PUBLIC_URL"]}
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Errorf("%s: %v\n%s", p.name, err, out)
			}
			if out, err := exec.Command(healthcheck, target).CombinedOutput(); err == nil {
				t.Errorf("%s without SENTRY_MCP_PUBLIC_URL passed, want 421 (so the check above proves the Host matters): %s", p.name, out)
			}
			continue
		}
		for _, withHeaders := range []bool{true, false} {
			req, _ := http.NewRequest(http.MethodGet, base+p.path, nil)
			if withHeaders {
				for k, v := range p.headers {
					req.Header.Set(k, v)
				}
				req.Host = p.headers["Host"]
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if withHeaders && resp.StatusCode != http.StatusOK {
				t.Errorf("%s GET %s with %v: %s, want 200", p.name, p.path, p.headers, resp.Status)
			}
			if !withHeaders && resp.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("%s GET %s without its Host header: %s, want 421", p.name, p.path, resp.Status)
			}
		}
	}
}

// deployPostgres is a fresh database on SENTRY_MCP_TEST_POSTGRES, dropped
// at the end, or "" with a notice when that is not set (the run then uses
// the demo's SQLite); SENTRY_MCP_REQUIRE_POSTGRES=1 makes that a failure.
func deployPostgres(t *testing.T) string {
	t.Helper()
	server := storetest.Server(t)
	if server == "" {
		t.Log("SENTRY_MCP_TEST_POSTGRES is not set: running on SQLite instead of the files' PostgreSQL (start a server with scripts/postgres.sh)")
		return ""
	}
	// Created before the servers start, so it is dropped after they stop.
	return storetest.FreshDatabase(t, server, "sentry_mcp_deploy")
}

// startDeployed runs serve with args and waits until port accepts
// connections; SIGTERM at cleanup must end it cleanly. It reports with
// t.Errorf, so that replicas may start from goroutines.
func startDeployed(t *testing.T, env []string, port string, args ...string) {
	t.Helper()
	var stderr syncBuffer
	cmd := binCommand(context.Background(), env, append([]string{"serve"}, args...)...)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("serve exited with %v after SIGTERM:\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("serve did not exit within 15s of SIGTERM")
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Errorf("serve %q exited (%v):\n%s", args, err, stderr.String())
			exited <- nil // reported here, not again at cleanup
			return
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("serve %q does not listen on %s:\n%s", args, port, stderr.String())
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
