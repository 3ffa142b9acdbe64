package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenEndpointRedirectIsNotFollowed(t *testing.T) {
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evilHits.Add(1) }))
	defer evil.Close()
	sentry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+r.URL.Path, http.StatusTemporaryRedirect) // 307 resends the POST body
	}))
	defer sentry.Close()
	c := OAuthClient{BaseURL: sentry.URL, ClientID: "id", ClientSecret: "sntrya_secret"}
	_, err := c.refresh(context.Background(), &Credential{RefreshToken: "r"}, time.Now)
	if err == nil {
		t.Fatal("a redirected refresh succeeded")
	}
	if evilHits.Load() != 0 {
		t.Error("the token request (with the client secret) followed a redirect to another host")
	}
	if strings.Contains(tokenError("refreshing", err, nil).Error(), "sntrya_secret") {
		t.Error("the secret appeared in the error")
	}
}
