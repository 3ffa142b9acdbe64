package redirecturi

import "testing"

func TestCheck(t *testing.T) {
	for uri, ok := range map[string]bool{
		"https://client.example/cb":         true,
		"http://127.0.0.1:1234/cb":          true,
		"http://localhost/cb":               true,
		"cursor://anysphere/oauth":          true,
		"http://evil.example/cb":            false,
		"https://client.example/cb#f":       false,
		"https://user:pw@client.example/cb": false,
		"javascript:alert(1)":               false,
		"/relative":                         false,
		"https://[fe80::1%25eth0]/cb":       false,
	} {
		if got := Check(uri) == ""; got != ok {
			t.Errorf("Check(%q) = %q, want ok=%v", uri, Check(uri), ok)
		}
	}
}

func TestMatches(t *testing.T) {
	reg := []string{"http://127.0.0.1:9/cb", "https://client.example/cb"}
	for got, ok := range map[string]bool{
		"https://client.example/cb":     true,
		"http://127.0.0.1:5555/cb":      true, // a loopback redirect matches on any port
		"http://127.0.0.1:5555/cb?x=1":  false,
		"http://127.0.0.1:5555/other":   false,
		"https://client.example/cb/":    false,
		"https://client.example:444/cb": false,
		"http://localhost:9/cb":         false, // another host name
	} {
		if Matches(reg, got) != ok {
			t.Errorf("Matches(%v, %q) = %v, want %v", reg, got, !ok, ok)
		}
	}
}
