// Package e2e runs the built sentry-mcp binary under real MCP clients over
// stdio, against the fake Sentry of sentry/sentrytest:
//
//   - the official Go SDK client (github.com/modelcontextprotocol/go-sdk,
//     a test-only dependency) with its default protocol (it probes
//     server/discover, 2026-07-28) and pinned to 2025-11-25 and 2025-06-18:
//     every tool, each structuredContent validated against its outputSchema;
//   - a raw JSON-RPC pipe for what no well-behaved client sends: malformed
//     lines, unknown methods, wrong argument types, calls before initialize,
//     notifications/cancelled for an in-flight call (the upstream HTTP request
//     must end), out-of-order concurrent requests and stdin closed mid-call.
//     Every line the server writes to stdout must be a JSON-RPC 2.0 message.
//
// Hosted mode (serve --http) runs under the Go SDK client too, over
// Streamable HTTP with its OAuth handler: a test browser answers the
// consent page and the fake Sentry's sign-in (hosted_test.go), for one user
// from discovery to revocation and for two users with different scopes at
// once.
//
// The TypeScript SDK and MCP Inspector clients run from
// scripts/test-clients.sh (they need Node); this package needs only Go.
package e2e
