package httpserver

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sentry-mcp/sentry-mcp/sentry"
	"github.com/sentry-mcp/sentry-mcp/tools"
)

// validSlug is what an organization in /mcp/{org} must be.
var validSlug = sentry.ValidSlug

// pinnedMCP is the MCP Streamable HTTP handler of one organization pin.
type pinnedMCP struct{ h http.Handler }

// buildMCP builds the stateless MCP handler for organization pin org ("" = none).
func (s *Server) buildMCP(org string) *pinnedMCP {
	hooks := &server.Hooks{}
	hooks.AddOnSuccess(func(ctx context.Context, _ any, _ mcp.MCPMethod, _ any, result any) {
		outcome := "ok"
		switch r := result.(type) {
		case *mcp.CallToolResult:
			if r != nil && r.IsError {
				outcome = "tool_error"
			}
		case mcp.CallToolResult:
			if r.IsError {
				outcome = "tool_error"
			}
		}
		stateFrom(ctx).setOutcome(outcome)
	})
	hooks.AddOnError(func(ctx context.Context, _ any, _ mcp.MCPMethod, _ any, _ error) {
		stateFrom(ctx).setOutcome("error")
	})
	srv := s.cfg.Inventory.MCPServer(tools.ServerOptions{Version: s.cfg.Version, Org: org, Hooks: hooks, Stateless: true})
	h := server.NewStreamableHTTPServer(srv,
		server.WithStateLess(true),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return tools.WithPrincipal(ctx, tools.PrincipalFrom(r.Context()))
		}),
		// Host is checked for every route in Server.serve, against the
		// public URL (mcp-go's check misfires behind a same-host proxy).
		server.WithDisableLocalhostProtection(true),
		// Stateless: no standalone GET stream (serveMCP answers GET with 405).
		server.WithDisableStreaming(true),
		server.WithStreamableHTTPLogger(s.log),
	)
	return &pinnedMCP{h: h}
}

// serveMCP serves POST /mcp and /mcp/{org}: Origin, size and bearer
// checks, then MCP with the caller's principal in the context.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request, resource, org string) {
	if rec, ok := w.(*recorder); ok {
		rec.private = true // tools/list differs per user
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Vary", "Authorization")
	st := stateFrom(r.Context())
	var outcome string
	defer func() {
		method, tool := st.rpcLabels()
		s.metrics.request(method, tool, outcome)
	}()

	if o := r.Header.Get("Origin"); o != "" && !s.originAllowed(o) {
		outcome = "refused"
		http.Error(w, "403 forbidden: requests from other origins are not allowed", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodGet, http.MethodDelete:
	default:
		outcome = "error"
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed: send JSON-RPC messages with POST", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > s.maxBody {
		outcome = "refused"
		s.tooLarge(w)
		return
	}
	p, err := s.cfg.Auth.Authenticate(r, resource)
	if err == nil && p == nil {
		err = errors.New("no principal")
	}
	if unavailable(err) {
		// Not the token's fault (the database did not answer): the client
		// keeps its tokens and tries again.
		outcome = "error"
		s.log.WarnContext(r.Context(), "could not check the bearer token", "resource", resource, "error", err.Error())
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "The server could not check the access token just now; try again shortly."})
		return
	}
	if err != nil {
		outcome = "unauthorized"
		s.log.DebugContext(r.Context(), "bearer token refused", "resource", resource, "reason", err.Error())
		s.challenge(w, resource, r.Header.Get("Authorization") != "")
		return
	}
	if r.Method != http.MethodPost {
		// Stateless: no stream to listen on (GET), no session to end (DELETE).
		outcome = "error"
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "405 method not allowed: this server is stateless; send JSON-RPC messages with POST", http.StatusMethodNotAllowed)
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			outcome = "refused"
			s.tooLarge(w)
			return
		}
		outcome = "error"
		if r.Context().Err() == nil {
			http.Error(w, "400 bad request: could not read the request body", http.StatusBadRequest)
		}
		return
	}
	msg := peek(body)
	st.setRPC(methodLabel(msg.Method), s.toolLabel(msg))

	ctx := tools.WithPrincipal(r.Context(), p)
	if msg.Method == string(mcp.MethodSubscriptionsListen) {
		// A listening stream would hold shutdown for its whole grace
		// period; nothing is pushed on it here, so it ends at shutdown.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.drainCtx, cancel)()
	}
	r = r.WithContext(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))

	h := s.root
	if org != "" {
		h = s.pins.get(org)
	}
	// A tool call may find out that Sentry no longer accepts the user's
	// sign-in (its token rejected and the refresh refused). Its answer is
	// held back until that is ruled out: then the request gets the 401
	// challenge, so the client signs in again, instead of a tool error.
	if msg.Method == string(mcp.MethodToolsCall) {
		held := &heldResponse{header: http.Header{}}
		h.h.ServeHTTP(held, r)
		if st.result() == "tool_error" {
			// The request's own context may have ended (its deadline):
			// the check gets a few seconds of its own, and only a refused
			// sign-in (not a database hiccup) turns into the challenge.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
			_, err := s.cfg.Auth.Authenticate(r.WithContext(cctx), resource)
			cancel()
			if err != nil && !unavailable(err) {
				outcome = "unauthorized"
				s.log.DebugContext(r.Context(), "the sign-in ended during the call", "resource", resource, "reason", err.Error())
				s.challenge(w, resource, true)
				return
			}
		}
		held.replay(w)
	} else {
		h.h.ServeHTTP(w, r)
	}

	status := 0
	if rec, ok := w.(*recorder); ok {
		status = rec.status
	}
	if status == 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// mcp-go writes nothing once the context has ended; say why.
		status = http.StatusGatewayTimeout
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"jsonrpc": "2.0",
			"id":      msg.ID,
			"error": map[string]any{
				"code":    mcp.INTERNAL_ERROR,
				"message": fmt.Sprintf("The request did not finish within the server's limit of %s.", s.timeout),
			},
		})
	}
	// mcp-go's hooks see every request it dispatches; a request it
	// answers without them (unknown method, bad message) was an error.
	outcome = st.result()
	isRequest := len(msg.ID) > 0 && string(msg.ID) != "null"
	switch {
	case status >= 500, outcome == "" && (status >= 400 || isRequest):
		outcome = "error"
	case outcome == "":
		outcome = "ok" // a notification, accepted
	}
}

// unavailable reports whether an Authenticate error says the check could
// not be made (Unavailable() true, or the context ended) rather than that
// the token is refused.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var u interface{ Unavailable() bool }
	return (errors.As(err, &u) && u.Unavailable()) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// heldResponse keeps a response to write it later (or not at all). Tool
// results are bounded by the tools' renderers (tens of KiB); mcp-go sees
// no http.Flusher here, so a tool call's answer is one JSON body.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(p)
}

// replay writes the held response to w; nothing if none was written.
func (h *heldResponse) replay(w http.ResponseWriter) {
	if h.status == 0 {
		return
	}
	for k, v := range h.header {
		w.Header()[k] = v
	}
	w.WriteHeader(h.status)
	_, _ = w.Write(h.body.Bytes())
}

func (s *Server) tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	http.Error(w, fmt.Sprintf("413 request body too large: at most %d bytes", s.maxBody), http.StatusRequestEntityTooLarge)
}

// challenge answers 401 with the WWW-Authenticate header that leads a
// client to the protected resource metadata of resource.
func (s *Server) challenge(w http.ResponseWriter, resource string, presented bool) {
	v := `Bearer resource_metadata="` + s.resourceMetadataURL(resource) + `"`
	if len(s.cfg.DefaultScopes) > 0 {
		v += `, scope="` + strings.Join(s.cfg.DefaultScopes, " ") + `"`
	}
	body := map[string]string{"error": "unauthorized", "error_description": "This MCP server needs an OAuth access token: see the WWW-Authenticate header."}
	if presented {
		v += `, error="invalid_token"`
		body = map[string]string{"error": "invalid_token", "error_description": "The access token is missing, expired, revoked or not for this resource: sign in again."}
	}
	w.Header().Set("WWW-Authenticate", v)
	writeJSON(w, http.StatusUnauthorized, body)
}

// resourceMetadataURL is where the protected resource metadata of resource is.
func (s *Server) resourceMetadataURL(resource string) string {
	return s.public + "/.well-known/oauth-protected-resource" + resource
}

// resourceMetadata is an RFC 9728 protected resource metadata document.
type resourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name"`
}

func (s *Server) serveResourceMetadata(w http.ResponseWriter, r *http.Request, resource string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Public and the same for everyone: browser-based clients may read it.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, resourceMetadata{
		Resource:               s.public + resource,
		AuthorizationServers:   []string{s.public},
		ScopesSupported:        s.cfg.ScopesSupported,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "sentry-mcp",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// rpcMessage is what the server reads of a JSON-RPC message before mcp-go
// handles it: for metrics, logs and the deadline's answer.
type rpcMessage struct {
	Method string          `json:"method"`
	ID     json.RawMessage `json:"id,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
}

func peek(body []byte) rpcMessage {
	var m rpcMessage
	if json.Unmarshal(body, &m) != nil {
		return rpcMessage{}
	}
	return m
}

// toolLabel is the tool of a tools/call for metrics: a tool of the
// inventory, else "other"; "" for other methods.
func (s *Server) toolLabel(m rpcMessage) string {
	if m.Method != string(mcp.MethodToolsCall) {
		return ""
	}
	var p struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(m.Params, &p) != nil || s.cfg.Inventory.Tool(p.Name) == nil {
		return "other"
	}
	return p.Name
}

// rpcMethods are the JSON-RPC methods metrics name; others are "other".
var rpcMethods = []string{
	string(mcp.MethodInitialize), string(mcp.MethodPing), string(mcp.MethodToolsList), string(mcp.MethodToolsCall),
	string(mcp.MethodResourcesList), string(mcp.MethodResourcesTemplatesList), string(mcp.MethodResourcesRead),
	string(mcp.MethodPromptsList), string(mcp.MethodPromptsGet), string(mcp.MethodSetLogLevel),
	string(mcp.MethodSubscriptionsListen), "completion/complete", "server/discover",
	"notifications/initialized", "notifications/cancelled", "notifications/roots/list_changed",
}

func methodLabel(m string) string {
	if m == "" {
		return ""
	}
	return oneOf(m, rpcMethods)
}

// pinCache holds the MCP handlers of the most recently used organization
// pins, at most max of them.
type pinCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *pinEntry, most recently used first
	byOrg map[string]*list.Element
	build func(org string) *pinnedMCP
}

type pinEntry struct {
	org string
	h   *pinnedMCP
}

func newPinCache(max int, build func(string) *pinnedMCP) *pinCache {
	return &pinCache{max: max, order: list.New(), byOrg: map[string]*list.Element{}, build: build}
}

// get returns org's handler, building it (outside the lock) the first time.
func (c *pinCache) get(org string) *pinnedMCP {
	if h := c.lookup(org); h != nil {
		return h
	}
	h := c.build(org)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byOrg[org]; ok { // built concurrently
		c.order.MoveToFront(e)
		return e.Value.(*pinEntry).h
	}
	c.byOrg[org] = c.order.PushFront(&pinEntry{org: org, h: h})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byOrg, old.Value.(*pinEntry).org)
	}
	return h
}

func (c *pinCache) lookup(org string) *pinnedMCP {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byOrg[org]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*pinEntry).h
	}
	return nil
}

func (c *pinCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
