// The official TypeScript MCP SDK client against hosted mode:
// `sentry-mcp serve --http 127.0.0.1:0 --demo` (the built-in sample Sentry,
// whose OAuth server approves at once), over Streamable HTTP with OAuth.
//
// Run by scripts/test-clients.sh with the machine's Node (20+):
//   SENTRY_MCP_BIN=/path/sentry-mcp SENTRY_MCP_TOOLS_JSON=tools.json \
//   node --test clients/hosted.test.mjs
//
// The OAuth provider (hosted-signin.mjs) is written for the test: its
// redirectToAuthorization is a browser that fetches the consent page, keeps
// its cookie, submits the approve button with the hidden fields, follows
// the redirect to Sentry's /oauth/authorize/ and back through
// /oauth/callback, and captures the code the client's redirect URI receives. Then the SDK's own steps:
// finishAuth(code), connect, tools/list, tools/call, a refresh of the MCP
// token (the SDK's auth() with a stored refresh token), and revocation
// (RFC 7009, by hand: the SDK has no revoke) after which the token gets 401.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

import { Browser, BrowserOAuthProvider, startHosted } from "./hosted-signin.mjs";

const bin = process.env.SENTRY_MCP_BIN;
const toolsJSON = process.env.SENTRY_MCP_TOOLS_JSON;
if (!bin || !toolsJSON) {
  throw new Error("set SENTRY_MCP_BIN and SENTRY_MCP_TOOLS_JSON (scripts/test-clients.sh does)");
}

// The scopes a client gets without asking (the 401 challenge's scope=), and
// the tools they enable: those needing no scope or any one of these.
const DEFAULT_SCOPES = ["org:read", "project:read", "team:read", "event:read"];
const EXPECTED_TOOLS = JSON.parse(readFileSync(toolsJSON, "utf8"))
  .tools.filter((t) => t.scopes.length === 0 || t.scopes.some((s) => DEFAULT_SCOPES.includes(s)))
  .map((t) => t.name)
  .sort();

let server; // from startHosted
let dir;
let mcpURL; // http://127.0.0.1:PORT/mcp
let origin; // http://127.0.0.1:PORT

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sentry-mcp-hosted-"));
  server = await startHosted(bin, dir);
  ({ mcpURL, origin } = server);
});

after(async () => {
  if (server) {
    const res = await server.stop();
    assert.ok(res !== null, `serve --http did not exit within 10 s of SIGTERM:\n${server.log()}`);
    assert.equal(res.code, 0, `serve --http exited ${res.code ?? res.signal} after SIGTERM:\n${server.log()}`);
  }
  rmSync(dir, { recursive: true, force: true });
});

// recordingFetch notes "METHOD path status" of every request the SDK makes.
function recordingFetch(log) {
  return async (url, init) => {
    const res = await fetch(url, init);
    log.push(`${init?.method ?? "GET"} ${new URL(url).pathname} ${res.status}`);
    return res;
  };
}

function newClient() {
  return new Client({ name: "sentry-mcp-client-tests-hosted", version: "1.0.0" }, { capabilities: {} });
}

async function rawPOST(path, form) {
  const res = await fetch(origin + path, { method: "POST", body: new URLSearchParams(form) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

async function mcpWithToken(token) {
  return fetch(mcpURL, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });
}

// inspectorOverHTTP runs the MCP Inspector CLI (INSPECTOR_NODE, INSPECTOR_JS:
// set by scripts/test-clients.sh) against /mcp over Streamable HTTP with a
// bearer token: tools/list and tools/call; without the token it must fail.
async function inspectorOverHTTP(token) {
  const node = process.env.INSPECTOR_NODE;
  const js = process.env.INSPECTOR_JS;
  if (!node || !js) {
    throw new Error("set INSPECTOR_NODE and INSPECTOR_JS (scripts/test-clients.sh does)");
  }
  const run = promisify(execFile);
  const cli = (...args) =>
    run(node, [js, "--cli", mcpURL, "--transport", "http", ...args, "--format", "json", "-q"], { env: { PATH: process.env.PATH, HOME: dir } });
  const auth = ["--header", `Authorization: Bearer ${token}`];
  const list = JSON.parse((await cli(...auth, "--method", "tools/list")).stdout);
  assert.deepEqual(list.result.tools.map((t) => t.name).sort(), EXPECTED_TOOLS, "Inspector tools/list over HTTP");
  const who = JSON.parse((await cli(...auth, "--method", "tools/call", "--tool-name", "whoami")).stdout);
  assert.equal(who.result.structuredContent?.user?.name, "Dana Reyes", "Inspector tools/call over HTTP");
  await assert.rejects(cli("--method", "tools/list"), "Inspector without a token fails");
}

function assertChallenge(res, what) {
  assert.equal(res.status, 401, what);
  const h = res.headers.get("www-authenticate") ?? "";
  assert.match(h, /^Bearer /i, `${what}: ${h}`);
  assert.ok(h.includes(`resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`), `${what}: ${h}`);
  assert.ok(h.includes(`scope="${DEFAULT_SCOPES.join(" ")}"`), `${what}: ${h}`);
}

test("TypeScript SDK: OAuth sign-in, tools, refresh and revocation over Streamable HTTP", async () => {
  assertChallenge(await mcpWithToken(""), "POST /mcp without a token");

  const browser = new Browser(origin);
  const provider = new BrowserOAuthProvider(browser);
  const log = [];
  const fetchFn = recordingFetch(log);

  // First connect: 401 → discovery → registration → the browser → the SDK
  // throws UnauthorizedError, as it does when it hands off to a browser.
  let transport = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider, fetch: fetchFn });
  await assert.rejects(newClient().connect(transport), UnauthorizedError);
  assert.ok(provider.code, "the browser captured a code");
  assert.ok(provider.client?.client_id, "the client registered dynamically");
  assert.equal(browser.consentPages.length, 1);
  for (const s of ["sentry-mcp e2e (TypeScript SDK)", "127.0.0.1", ...DEFAULT_SCOPES]) {
    assert.ok(browser.consentPages[0].includes(s), `the consent page mentions ${s}`);
  }
  const up = browser.upstream[0].searchParams;
  assert.deepEqual((up.get("scope") ?? "").split(" ").sort(), [...DEFAULT_SCOPES].sort(), "scopes asked of Sentry");
  assert.equal(up.get("code_challenge_method"), "S256");
  assert.equal(up.get("redirect_uri"), `${origin}/oauth/callback`);

  await transport.finishAuth(provider.code);
  await transport.close();
  const tok0 = provider.tokens();
  assert.ok(tok0?.access_token && tok0.refresh_token, "an access and a refresh token");
  assert.ok(tok0.access_token.length >= 43 && tok0.access_token.split(".").length !== 3, "an opaque token of at least 256 bits");
  assert.ok(tok0.expires_in > 0 && tok0.expires_in <= 3600, `expires_in ${tok0.expires_in}`);

  const wantSteps = [
    "POST /mcp 401",
    "GET /.well-known/oauth-protected-resource/mcp 200",
    "GET /.well-known/oauth-authorization-server 200",
    "POST /oauth/register 201",
    "POST /oauth/token 200",
  ];
  let i = 0;
  for (const s of log) if (s === wantSteps[i]) i++;
  assert.equal(i, wantSteps.length, `requests ${JSON.stringify(log)} contain in order ${JSON.stringify(wantSteps)}`);

  // Connected with the token.
  transport = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider, fetch: fetchFn });
  const client = newClient();
  await client.connect(transport);
  try {
    const names = [];
    let cursor;
    do {
      const page = await client.listTools({ cursor });
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(names.sort(), EXPECTED_TOOLS);

    const orgs = await client.callTool({ name: "list_organizations", arguments: {} });
    assert.ok(!orgs.isError, JSON.stringify(orgs));
    assert.ok(JSON.stringify(orgs.structuredContent).includes('"acme"'), JSON.stringify(orgs.structuredContent));
    const who = await client.callTool({ name: "whoami", arguments: {} });
    assert.equal(who.structuredContent?.user?.name, "Dana Reyes");

    // Refresh: the SDK's auth() with a stored refresh token refreshes.
    assert.equal(await auth(provider, { serverUrl: new URL(mcpURL), fetchFn }), "AUTHORIZED");
    const tok1 = provider.tokens();
    assert.notEqual(tok1.access_token, tok0.access_token, "a new access token");
    assert.ok(tok1.refresh_token && tok1.refresh_token !== tok0.refresh_token, "a rotated refresh token");
    assert.equal(browser.consentPages.length, 1, "refreshing needs no browser");
    const again = await client.callTool({ name: "list_projects", arguments: { organization: "acme" } });
    assert.ok(!again.isError, JSON.stringify(again));

    // The MCP Inspector CLI over Streamable HTTP with the token as a header.
    await inspectorOverHTTP(tok1.access_token);

    // Revocation: the access token, then the refresh token.
    const clientID = provider.client.client_id;
    let r = await rawPOST("/oauth/revoke", { token: tok1.access_token, token_type_hint: "access_token", client_id: clientID });
    assert.equal(r.status, 200, r.text);
    assertChallenge(await mcpWithToken(tok1.access_token), "POST /mcp with a revoked access token");
    r = await rawPOST("/oauth/revoke", { token: tok1.refresh_token, token_type_hint: "refresh_token", client_id: clientID });
    assert.equal(r.status, 200, r.text);
    r = await rawPOST("/oauth/token", { grant_type: "refresh_token", refresh_token: tok1.refresh_token, client_id: clientID });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json?.error, "invalid_grant");
  } finally {
    await client.close();
  }

  // Nothing secret in the server's log.
  for (const t of provider.issued) {
    for (const s of [t.access_token, t.refresh_token, provider.code]) {
      if (s) assert.ok(!server.log().includes(s), "the server's log contains a token or code");
    }
  }
});
