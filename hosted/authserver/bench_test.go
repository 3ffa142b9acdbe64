package authserver

import (
	"testing"
)

// BenchmarkAuthenticate is what every MCP request pays to turn its bearer
// token into a principal: two indexed SQLite reads (token, grant) and the
// grant's cached token source.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b, nil)
	id := e.register("https://client.example/cb")
	access := e.tokens(newBrowser(b), e.newFlow(id, "https://client.example/cb"))["access_token"].(string)
	r := request(access)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.as.Authenticate(r, "/mcp"); err != nil {
			b.Fatal(err)
		}
	}
}
