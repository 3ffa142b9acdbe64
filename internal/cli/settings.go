package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/auth"
	"github.com/sentry-mcp/sentry-mcp/sentry"
)

var errUsage = errors.New("usage")

// options are every command's settings; each command reads the ones it
// declares (see settings).
type options struct {
	url             string
	scopes          string
	org             string
	readOnly        bool
	demo            bool
	json            bool
	insecureStorage bool
	refreshMargin   time.Duration
	timeout         time.Duration
	toolsets        []string
	tools           []string
	excludeTools    []string

	// serve --http, grants
	http              string
	publicURL         string
	database          string
	trustedProxies    string
	registrationLimit int

	// auth login
	clientID    string
	secretStdin bool
	loginScopes string
	device      bool
	withToken   bool
	port        int
	waitLogin   time.Duration
}

// setting is one flag with its environment variable and help text: the
// one table that flags, environment and help come from.
type setting struct {
	flag string
	env  string // "" = flag only
	arg  string // placeholder in help; "" = a boolean switch
	help string
	def  string
	// ptr returns the field the setting fills.
	ptr func(o *options) any
	// check validates a parsed value ("" = fine).
	check func(o *options) string
}

func positive(d func(o *options) time.Duration) func(o *options) string {
	return func(o *options) string {
		if d(o) <= 0 {
			return "want a positive duration like 30s or 24h"
		}
		return ""
	}
}

var (
	sURL = setting{flag: "url", env: "SENTRY_URL", arg: "URL", help: "Sentry base URL", def: sentry.DefaultBaseURL,
		ptr: func(o *options) any { return &o.url }}
	sScopes = setting{flag: "scopes", env: "SENTRY_MCP_SCOPES", arg: "LIST", help: "upper bound on what the agent may do, e.g. org:read,event:read",
		ptr: func(o *options) any { return &o.scopes },
		check: func(o *options) string {
			if _, err := auth.ParseScopes(o.scopes); err != nil {
				return err.Error()
			}
			return ""
		}}
	sReadOnly = setting{flag: "read-only", env: "SENTRY_MCP_READ_ONLY", help: "hide and refuse every tool that changes Sentry",
		ptr: func(o *options) any { return &o.readOnly }}
	sOrg = setting{flag: "organization", env: "SENTRY_ORG", arg: "SLUG", help: "pin to one organization",
		ptr: func(o *options) any { return &o.org },
		check: func(o *options) string {
			if o.org != "" && !sentry.ValidSlug(o.org) {
				return "want a slug like acme"
			}
			return ""
		}}
	sToolsets = setting{flag: "toolsets", env: "SENTRY_MCP_TOOLSETS", arg: "LIST", help: "toolsets to offer: orgs, issues, releases, events, all or default (default: default)",
		ptr: func(o *options) any { return &o.toolsets }}
	sTools = setting{flag: "tools", env: "SENTRY_MCP_TOOLS", arg: "LIST", help: "tools to offer besides the toolsets'",
		ptr: func(o *options) any { return &o.tools }}
	sExclude = setting{flag: "exclude-tools", env: "SENTRY_MCP_EXCLUDE_TOOLS", arg: "LIST", help: "tools never to offer (wins over the two above)",
		ptr: func(o *options) any { return &o.excludeTools }}
	sDemo = setting{flag: "demo", help: "use the built-in sample Sentry instead of a real one",
		ptr: func(o *options) any { return &o.demo }}
	sJSON = setting{flag: "json", help: "print JSON",
		ptr: func(o *options) any { return &o.json }}
	sInsecure = setting{flag: "insecure-storage", env: "SENTRY_MCP_INSECURE_STORAGE", help: "keep credentials in a plain file (0600), not the OS keyring",
		ptr: func(o *options) any { return &o.insecureStorage }}
	sMargin = setting{flag: "refresh-margin", env: "SENTRY_MCP_REFRESH_MARGIN", arg: "D", help: "refresh the token this long before it expires; 0 = only once it has expired or Sentry rejects it", def: auth.DefaultRefreshMargin.String(),
		ptr: func(o *options) any { return &o.refreshMargin },
		check: func(o *options) string {
			if err := auth.ValidateRefreshMargin(o.refreshMargin); err != nil {
				return err.Error()
			}
			return ""
		}}
	sTimeout = setting{flag: "timeout", env: "SENTRY_MCP_TIMEOUT", arg: "D", help: "per-request timeout for Sentry", def: "30s",
		ptr: func(o *options) any { return &o.timeout }, check: positive(func(o *options) time.Duration { return o.timeout })}

	sClientID = setting{flag: "client-id", env: "SENTRY_CLIENT_ID", arg: "ID", help: "OAuth application client id",
		ptr: func(o *options) any { return &o.clientID }}
	sSecretStdin = setting{flag: "client-secret-stdin", help: "read the client secret from stdin (else SENTRY_CLIENT_SECRET)",
		ptr: func(o *options) any { return &o.secretStdin }}
	sLoginScopes = setting{flag: "scopes", arg: "LIST", help: "scopes to request, or a preset: read (the default) or triage (adds event:write, member:read: assign, archive, resolve, comment, list members)", def: strings.Join(auth.DefaultLoginScopes, ","),
		ptr: func(o *options) any { return &o.loginScopes }}
	sDevice = setting{flag: "device", help: "device flow for SSH and headless machines: enter a code in any browser",
		ptr: func(o *options) any { return &o.device }}
	sWithToken = setting{flag: "with-token", help: "read an existing auth token from stdin (cannot be refreshed)",
		ptr: func(o *options) any { return &o.withToken }}
	sPort = setting{flag: "port", arg: "N", help: "loopback port for the browser redirect (default: any free port)", def: "0",
		ptr: func(o *options) any { return &o.port }}
	sWaitLogin = setting{flag: "timeout", arg: "D", help: "how long to wait for the browser", def: "5m",
		ptr: func(o *options) any { return &o.waitLogin }, check: positive(func(o *options) time.Duration { return o.waitLogin })}
)

// Hosted mode (serve --http) and grants.
var (
	sHTTP = setting{flag: "http", env: "SENTRY_MCP_HTTP", arg: "ADDR", help: "serve MCP over Streamable HTTP for many users at ADDR (e.g. 127.0.0.1:8080) instead of stdio",
		ptr: func(o *options) any { return &o.http }}
	sPublicURL = setting{flag: "public-url", env: "SENTRY_MCP_PUBLIC_URL", arg: "URL", help: "with --http: the origin clients use, e.g. https://mcp.example.com (default http://ADDR on loopback)",
		ptr: func(o *options) any { return &o.publicURL }}
	sDatabase = setting{flag: "database", env: "SENTRY_MCP_DATABASE_URL", arg: "URL", help: "with --http: where grants are kept (default: SQLite in $XDG_DATA_HOME/sentry-mcp/)",
		ptr: func(o *options) any { return &o.database }}
	sTrustedProxies = setting{flag: "trusted-proxies", env: "SENTRY_MCP_TRUSTED_PROXIES", arg: "LIST", help: "with --http: proxies whose X-Forwarded-For is believed (CIDRs or addresses)",
		ptr: func(o *options) any { return &o.trustedProxies }}
	sRegistrationLimit = setting{flag: "registration-limit", env: "SENTRY_MCP_REGISTRATION_LIMIT", arg: "N", help: "with --http: client registrations allowed per minute per IP", def: "20",
		ptr: func(o *options) any { return &o.registrationLimit },
		check: func(o *options) string {
			if o.registrationLimit <= 0 {
				return "want a positive number"
			}
			return ""
		}}
)

// hostedSettings are serve's settings for --http.
var hostedSettings = []setting{sHTTP, sPublicURL, sDatabase, sTrustedProxies, sRegistrationLimit}

// serverSettings are the settings of every command that runs tools.
var serverSettings = []setting{sURL, sScopes, sReadOnly, sOrg, sToolsets, sTools, sExclude, sDemo, sInsecure, sMargin, sTimeout}

// storeSettings are those of every auth command.
var storeSettings = []setting{sURL, sInsecure, sMargin}

// value adapts an options field to flag.Value.
type value struct{ p any }

func (v value) String() string {
	switch p := v.p.(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *time.Duration:
		return p.String()
	case *[]string:
		return strings.Join(*p, ",")
	}
	return ""
}

func (v value) Set(s string) error {
	switch p := v.p.(type) {
	case *string:
		*p = s
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want 1, true, 0 or false")
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return errors.New("want a whole number")
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return errors.New("want a duration like 30s or 24h")
		}
		*p = d
	case *[]string:
		*p = nil
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			*p = append(*p, f)
		}
	}
	return nil
}

func (v value) IsBoolFlag() bool { _, ok := v.p.(*bool); return ok }

// command describes one command for parsing and help.
type command struct {
	name     string // e.g. "auth login"
	args     string // positional arguments in help, e.g. "TOOL [JSON]"
	summary  string
	settings []setting
}

// parse fills o from args (flags anywhere among them), then from the
// environment for each setting whose flag was not given, and checks every
// value. It returns the positional arguments.
func (c command) parse(o *options, args []string, out io.Writer) ([]string, error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { fmt.Fprint(out, c.help()) }
	for _, s := range c.settings {
		v := value{s.ptr(o)}
		if s.def != "" {
			if err := v.Set(s.def); err != nil {
				panic("cli: default of --" + s.flag + ": " + err.Error())
			}
		}
		fs.Var(v, s.flag, s.help)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	fromFlag := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { fromFlag[f.Name] = true })
	for _, s := range c.settings {
		where := "--" + s.flag
		if !fromFlag[s.flag] && s.env != "" {
			if env := os.Getenv(s.env); env != "" {
				where = s.env
				if err := (value{s.ptr(o)}).Set(env); err != nil {
					return nil, fmt.Errorf("%s=%q: %v", s.env, env, err)
				}
			}
		}
		if s.check != nil {
			if msg := s.check(o); msg != "" {
				return nil, fmt.Errorf("%s=%q: %s", where, value{s.ptr(o)}.String(), msg)
			}
		}
	}
	return pos, nil
}

var errHelp = errors.New("help")

// help is the command's usage, generated from its settings.
func (c command) help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: sentry-mcp %s", c.name)
	if c.args != "" {
		fmt.Fprintf(&b, " %s", c.args)
	}
	fmt.Fprintf(&b, " [flags]\n  %s\n\nFlags (each also read from the environment variable shown; the flag wins):\n", c.summary)
	b.WriteString(flagTable(c.settings))
	return b.String()
}

func flagTable(settings []setting) string {
	var b strings.Builder
	for _, s := range settings {
		left := "--" + s.flag
		if s.arg != "" {
			left += " " + s.arg
		}
		help := s.help
		if s.def != "" && s.def != "0" {
			help += " (default " + s.def + ")"
		}
		if s.env != "" {
			help += " [" + s.env + "]"
		}
		fmt.Fprintf(&b, "  %-24s %s\n", left, help)
	}
	return b.String()
}

// Defaults for commands that do not take the setting.
const (
	defaultTimeout = 30 * time.Second
	defaultMargin  = auth.DefaultRefreshMargin
)
