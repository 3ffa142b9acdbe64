package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sentry-mcp/sentry-mcp/sentry/sentrytest"
)

func TestParseOAuthApp(t *testing.T) {
	tests := []struct {
		in   string
		want *sentrytest.OAuthApp // nil: an error
	}{
		{"cid:s3cret:http://127.0.0.1:8080/oauth/callback", &sentrytest.OAuthApp{ClientID: "cid", ClientSecret: "s3cret", RedirectURIs: []string{"http://127.0.0.1:8080/oauth/callback"}}},
		{"cid:s3cret:https://mcp.example/oauth/callback?x=1", &sentrytest.OAuthApp{ClientID: "cid", ClientSecret: "s3cret", RedirectURIs: []string{"https://mcp.example/oauth/callback?x=1"}}},
		{"cid:s3cret", nil},
		{"cid::https://mcp.example/cb", nil},
		{":s3cret:https://mcp.example/cb", nil},
		{"cid:s3cret:", nil},
		{"cid:s3cret:/oauth/callback", nil},
		{"cid:s3cret:ftp://mcp.example/cb", nil},
		{"cid:s3cret:https:///cb", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseOAuthApp(tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("no error, got %+v", got)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error echoes the secret: %v", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, *tt.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, *tt.want)
			}
		})
	}
}
