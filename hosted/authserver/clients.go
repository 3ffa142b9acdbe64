package authserver

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sentry-mcp/sentry-mcp/hosted/redirecturi"
	"github.com/sentry-mcp/sentry-mcp/hosted/store"
	"github.com/sentry-mcp/sentry-mcp/tools/render"
)

// client is an MCP client as the flows see it: registered here (RFC 7591)
// or described by its metadata document.
type client struct {
	id, name     string
	redirectURIs []string
	secretHash   []byte // nil: public
	authMethod   string
}

// maxRegistration bounds a registration request's body.
const maxRegistration = 64 << 10

// registerClient is RFC 7591 dynamic client registration.
func (s *Server) registerClient(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RedirectURIs            []string `json:"redirect_uris"`
		ClientName              string   `json:"client_name"`
		TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
		GrantTypes              []string `json:"grant_types"`
		ResponseTypes           []string `json:"response_types"`
		Scope                   string   `json:"scope"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistration))
	if err != nil {
		registrationError(w, "invalid_client_metadata", "the registration request is larger than 64 KiB")
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		registrationError(w, "invalid_client_metadata", "the registration request is not a JSON object")
		return
	}
	if len(req.RedirectURIs) == 0 || len(req.RedirectURIs) > 10 {
		registrationError(w, "invalid_redirect_uri", "redirect_uris must list 1 to 10 URIs")
		return
	}
	for _, u := range req.RedirectURIs {
		if msg := redirecturi.Check(u); msg != "" {
			registrationError(w, "invalid_redirect_uri", msg)
			return
		}
	}
	method := req.TokenEndpointAuthMethod
	if method == "" {
		method = "client_secret_basic" // RFC 7591 s2
	}
	if !slices.Contains([]string{"none", "client_secret_basic", "client_secret_post"}, method) {
		registrationError(w, "invalid_client_metadata", "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
		return
	}
	for _, g := range req.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			registrationError(w, "invalid_client_metadata", "grant_types may hold only authorization_code and refresh_token")
			return
		}
	}
	for _, rt := range req.ResponseTypes {
		if rt != "code" {
			registrationError(w, "invalid_client_metadata", "response_types may hold only code")
			return
		}
	}
	name := strings.TrimSpace(render.Line(req.ClientName, 80))
	c := &store.Client{ID: random("smcp_client_", 16), Name: name, RedirectURIs: req.RedirectURIs, AuthMethod: method, Created: time.Now()}
	var secret string
	if method != "none" {
		secret = random(prefixSecret, 32)
		c.SecretHash = store.HashToken(secret)
	}
	if err := s.cfg.Store.CreateClient(r.Context(), c); err != nil {
		s.log.Error("storing a client registration failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "the registration could not be stored"})
		return
	}
	resp := map[string]any{
		"client_id":                  c.ID,
		"client_id_issued_at":        c.Created.Unix(),
		"client_name":                name,
		"redirect_uris":              c.RedirectURIs,
		"token_endpoint_auth_method": method,
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
	}
	if secret != "" {
		resp["client_secret"] = secret
		resp["client_secret_expires_at"] = 0
	}
	s.log.Info("registered an MCP client", "client_id", c.ID, "client_name", name, "auth_method", method)
	writeJSON(w, http.StatusCreated, resp)
}

func registrationError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": msg})
}

// errUnknownClient: no such client.
var errUnknownClient = errors.New("unknown client")

// lookupClient finds a client by id: a metadata document URL is fetched
// (SSRF-safe, cached), anything else is a registration of ours.
func (s *Server) lookupClient(ctx context.Context, id string) (*client, error) {
	if id == "" {
		return nil, errUnknownClient
	}
	if s.meta.IsClientID(id) {
		doc, err := s.meta.Fetch(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(doc.GrantTypes) > 0 && !slices.Contains(doc.GrantTypes, "authorization_code") {
			return nil, errors.New("the client's metadata document does not allow the authorization_code grant")
		}
		if len(doc.ResponseTypes) > 0 && !slices.Contains(doc.ResponseTypes, "code") {
			return nil, errors.New("the client's metadata document does not allow the code response type")
		}
		// (clientmeta checked doc.RedirectURIs with redirecturi.Check.)
		name := doc.ClientName
		if name == "" {
			name = id
		}
		return &client{id: id, name: render.Line(name, 80), redirectURIs: doc.RedirectURIs, authMethod: "none"}, nil
	}
	c, err := s.cfg.Store.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errUnknownClient
	}
	if err != nil {
		return nil, err
	}
	return &client{id: c.ID, name: c.Name, redirectURIs: c.RedirectURIs, secretHash: c.SecretHash, authMethod: c.AuthMethod}, nil
}

// authenticateClient checks the client's credentials at the token and
// revocation endpoints, as registered: none (client_id in the form),
// client_secret_basic or client_secret_post (either is accepted from a
// confidential client: clients do not all use the one they registered).
func (s *Server) authenticateClient(r *http.Request) (*client, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err error
		if id, err = url.QueryUnescape(id); err != nil {
			return nil, errUnknownClient
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return nil, errUnknownClient
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if form := r.PostForm.Get("client_id"); basic && form != "" && form != id {
		return nil, errUnknownClient
	}
	ctx, cancel := ctxTimeout(r)
	defer cancel()
	c, err := s.lookupClient(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.secretHash == nil:
		if secret != "" || basic {
			return nil, errUnknownClient // a public client has no secret to present
		}
	case secret == "":
		return nil, errUnknownClient
	case subtle.ConstantTimeCompare(store.HashToken(secret), c.secretHash) != 1:
		return nil, errUnknownClient
	}
	return c, nil
}
