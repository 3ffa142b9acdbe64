package auth

// Test-only views of a token source, for the external tests.

// EffectiveScopes are the scopes of the credential in use.
func (ts *RefreshingTokenSource) EffectiveScopes() ([]string, error) {
	c, err := ts.loaded()
	if err != nil {
		return nil, err
	}
	return c.EffectiveScopes(), nil
}

// Generation grows every time the credential in use is replaced.
func (ts *RefreshingTokenSource) Generation() uint64 {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.gen
}
