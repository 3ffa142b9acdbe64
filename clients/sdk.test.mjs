// The official TypeScript MCP SDK client against `sentry-mcp serve` over
// stdio, on the fake Sentry (cmd/fakesentry, demo data).
//
// Run by scripts/test-clients.sh with the machine's Node (20+):
//   SENTRY_MCP_BIN=/path/sentry-mcp SENTRY_URL=http://127.0.0.1:PORT \
//   SENTRY_ACCESS_TOKEN=... node --test clients/sdk.test.mjs
//
// It lists the tools (following nextCursor), calls every tool, and checks
// each structuredContent against the tool's outputSchema twice: the SDK's
// own check inside callTool (it throws on a mismatch) and ajv (JSON Schema
// 2020-12, formats on, strict mode) here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const bin = process.env.SENTRY_MCP_BIN;
const url = process.env.SENTRY_URL;
const token = process.env.SENTRY_ACCESS_TOKEN;
if (!bin || !url || !token) {
  throw new Error("set SENTRY_MCP_BIN, SENTRY_URL and SENTRY_ACCESS_TOKEN (scripts/test-clients.sh does)");
}

// Every tool sentry-mcp has, from `sentry-mcp tools --json` (the one list;
// scripts/test-clients.sh writes it). A tool the server lists that is
// missing there fails the test, so "calls every tool" stays true.
const toolsJSON = process.env.SENTRY_MCP_TOOLS_JSON;
if (!toolsJSON) {
  throw new Error("set SENTRY_MCP_TOOLS_JSON to the output of `sentry-mcp tools --demo --json`");
}
const EXPECTED_TOOLS = JSON.parse(readFileSync(toolsJSON, "utf8")).tools.map((t) => t.name).sort();

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);

let client;
let transport;
let stderr = "";
const transportErrors = [];
const tools = new Map(); // name -> Tool
const validators = new Map(); // name -> ajv validate function

// connect makes a client and its stdio transport. The SDK always offers
// its LATEST_PROTOCOL_VERSION; to run a whole session at an older version,
// protocolVersion rewrites that offer on the way out (the SDK accepts any
// version it supports in the answer). t.negotiated is what the server chose.
function connect(protocolVersion) {
  const c = new Client({ name: "sentry-mcp-client-tests", version: "1.0.0" }, { capabilities: {} });
  const t = new StdioClientTransport({
    command: bin,
    args: ["serve"],
    env: { SENTRY_URL: url, SENTRY_ACCESS_TOKEN: token, HOME: process.env.HOME ?? "/tmp" },
    stderr: "pipe",
  });
  t.stderr.on("data", (b) => { stderr += b; });
  // A stdout line that is not a JSON-RPC message reaches onerror.
  c.onerror = (err) => transportErrors.push(err);
  t.setProtocolVersion = (v) => { t.negotiated = v; };
  if (protocolVersion) {
    const send = t.send.bind(t);
    t.send = (msg, opts) => {
      if (msg.method === "initialize") {
        msg = { ...msg, params: { ...msg.params, protocolVersion } };
      }
      return send(msg, opts);
    };
  }
  return { c, t };
}

before(async () => {
  ({ c: client, t: transport } = connect());
  await client.connect(transport);
});

after(async () => {
  await client?.close();
});

// call runs a tool through the SDK (which validates structuredContent
// against the cached outputSchema and throws on a mismatch), then
// validates again with ajv.
async function call(name, args) {
  const res = await client.callTool({ name, arguments: args });
  assert.notEqual(res.isError, true, `${name}(${JSON.stringify(args)}) failed: ${JSON.stringify(res.content)}`);
  assert.ok(res.structuredContent, `${name}: no structuredContent`);
  const validate = validators.get(name);
  assert.ok(validate(res.structuredContent), `${name}: structuredContent violates outputSchema: ${ajv.errorsText(validate.errors)}`);
  const text = res.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
  assert.ok(text.length > 0, `${name}: no text content`);
  return { sc: res.structuredContent, text };
}

test("initialize negotiates the SDK's latest protocol and says what the server is", () => {
  const info = client.getServerVersion();
  assert.equal(info.name, "sentry-mcp");
  assert.ok(client.getServerCapabilities().tools, "tools capability");
  assert.match(client.getInstructions() ?? "", /list_issues/);
  assert.equal(transport.negotiated, LATEST_PROTOCOL_VERSION);
});

test("tools/list (every page) has every tool with valid input and output schemas", async () => {
  let cursor;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    pages++;
    for (const t of page.tools) {
      assert.ok(!tools.has(t.name), `tool ${t.name} listed twice`);
      tools.set(t.name, t);
    }
    cursor = page.nextCursor;
  } while (cursor && pages < 50);
  assert.ok(!cursor, "nextCursor never ended");
  assert.deepEqual([...tools.keys()].sort(), EXPECTED_TOOLS);
  for (const [name, t] of tools) {
    assert.equal(t.inputSchema.type, "object", `${name} inputSchema`);
    assert.equal(t.outputSchema?.type, "object", `${name} outputSchema`);
    ajv.compile(t.inputSchema); // must compile in strict mode
    validators.set(name, ajv.compile(t.outputSchema));
    assert.ok(typeof t.annotations?.readOnlyHint === "boolean", `${name} readOnlyHint`);
    // The SDK compiled its own validator from this outputSchema; callTool uses it.
    assert.ok(client.getToolOutputValidator(name), `the SDK caches a validator for ${name}`);
  }
});

test("every tool answers with structuredContent that matches its outputSchema", async () => {
  const called = new Set();
  const run = async (name, args) => { called.add(name); return call(name, args); };

  const who = await run("whoami", {});
  assert.equal(who.sc.user?.name, "Dana Reyes");

  const orgs = await run("list_organizations", {});
  assert.ok(orgs.sc.organizations.some((o) => o.slug === "acme"));

  const projects = await run("list_projects", { organization: "acme" });
  assert.ok(projects.sc.projects.length >= 3);

  const teams = await run("list_teams", { organization: "acme" });
  assert.ok(teams.sc.teams.some((t) => t.slug === "platform" && t.members > 0));

  // list_issues, then its next page through next_cursor.
  const page1 = await run("list_issues", { organization: "acme", limit: 5 });
  assert.equal(page1.sc.issues.length, 5);
  assert.ok(page1.sc.next_cursor, "a next_cursor for 5 of many issues");
  const page2 = await call("list_issues", { organization: "acme", limit: 5, cursor: page1.sc.next_cursor });
  assert.equal(page2.sc.issues.length, 5);
  assert.notEqual(page2.sc.issues[0].id, page1.sc.issues[0].id);
  await call("list_issues", { organization: "acme", query: "", sort: "freq", period: "14d", project: "backend", limit: 100 });

  const first = page1.sc.issues[0];
  const byShort = await run("get_issue", { issue: first.short_id, organization: "acme" });
  assert.equal(byShort.sc.id, first.id);
  const byID = await call("get_issue", { issue: first.id });
  assert.equal(byID.sc.short_id, first.short_id);
  const withFrames = await call("get_issue", { issue: "BACKEND-1", organization: "acme" });
  assert.ok(withFrames.sc.latest_event?.exceptions?.[0]?.frames?.length > 0, "BACKEND-1 has a stack trace");

  const releases = await run("list_releases", { organization: "acme" });
  assert.ok(releases.sc.releases.length > 0);
  const release = await run("get_release", { organization: "acme", version: "backend@2.14.0" });
  assert.ok(release.sc.commits.length > 0);

  const members = await run("list_members", { organization: "acme" });
  const sam = members.sc.members.find((m) => m.email === "sam@acme.example");
  assert.ok(sam?.user_id, "members carry the user id assignment takes");
  const event = await run("get_event", { issue: "BACKEND-2", organization: "acme" });
  assert.match(event.sc.contexts.trace_id, /^[0-9a-f]{32}$/);
  const trace = await run("get_trace", { organization: "acme", trace_id: event.sc.contexts.trace_id });
  assert.ok(trace.sc.tree.length > 0);
  await run("list_issue_events", { issue: "BACKEND-2", organization: "acme", limit: 2 });
  const tags = await run("get_issue_tags", { issue: "BACKEND-2", organization: "acme", key: "user" });
  assert.equal(tags.sc.tags[0].key, "user");
  const table = await run("search_events", { organization: "acme", fields: ["title", "count()"], sort: "-count()", limit: 3 });
  assert.equal(typeof table.sc.rows[0]["count()"], "number");
  const assigned = await run("update_issue", { issue: "BACKEND-2", organization: "acme", assignee: `user:${sam.user_id}` });
  assert.ok(JSON.stringify(assigned.sc).includes("Sam Okafor"));
  await run("update_issue", { issues: [page1.sc.issues[2].short_id, page1.sc.issues[3].id], organization: "acme", status: "archived", archive_for: "24h" });
  await run("add_issue_comment", { issue: "BACKEND-2", organization: "acme", text: "Seen from the TypeScript SDK." });
  const activity = await run("list_issue_activity", { issue: "BACKEND-2", organization: "acme" });
  assert.ok(JSON.stringify(activity.sc).includes("Seen from the TypeScript SDK."));

  const resolved = await run("resolve_issue", { issue: first.id });
  assert.equal(resolved.sc.status, "resolved");
  const next = await call("resolve_issue", { issue: page1.sc.issues[1].short_id, organization: "acme", resolution: "next_release" });
  assert.equal(next.sc.in_next_release, true);

  assert.deepEqual([...called].sort(), [...tools.keys()].sort(), "every listed tool was called");
});

test("ajv really checks the output schemas (a broken result is rejected)", () => {
  const validate = validators.get("list_issues");
  assert.equal(validate({ issues: [{ id: 1 }] }), false);
  assert.equal(validators.get("whoami")({ read_only: "no" }), false);
});

test("the SDK itself rejects structuredContent that violates the outputSchema", async () => {
  const { c, t } = connect();
  await c.connect(t);
  try {
    const { tools: listed } = await c.listTools();
    // Same tools, but list_issues now promises a field it never sends.
    c.cacheToolMetadata(listed.map((x) => x.name !== "list_issues" ? x
      : { ...x, outputSchema: { ...x.outputSchema, required: [...(x.outputSchema.required ?? []), "no_such_field"] } }));
    await assert.rejects(c.callTool({ name: "list_issues", arguments: { organization: "acme", limit: 1 } }),
      /does not match the tool's output schema/);
    const ok = await c.callTool({ name: "list_organizations", arguments: {} });
    assert.ok(ok.structuredContent);
  } finally {
    await c.close();
  }
});

test("wrong argument types are a tool error, not a protocol error", async () => {
  const res = await client.callTool({ name: "list_issues", arguments: { organization: "acme", limit: "three" } });
  assert.equal(res.isError, true);
  assert.match(res.content[0].text, /limit/);
  assert.equal(res.structuredContent, undefined);
});

test("a hostile issue URL is refused before any request", async () => {
  const res = await client.callTool({ name: "get_issue", arguments: { issue: "https://evil.example/organizations/acme/issues/1/" } });
  assert.equal(res.isError, true);
  assert.match(res.content[0].text, /evil\.example/);
});

test("an unknown tool is a JSON-RPC error", async () => {
  await assert.rejects(client.callTool({ name: "no_such_tool", arguments: {} }), /no_such_tool/);
});

test("whole sessions at older protocol versions (2025-06-18, 2025-03-26, 2024-11-05)", async () => {
  for (const v of ["2025-06-18", "2025-03-26", "2024-11-05"]) {
    const { c, t } = connect(v);
    await c.connect(t);
    try {
      assert.equal(t.negotiated, v);
      const { tools: listed } = await c.listTools();
      assert.deepEqual(listed.map((x) => x.name).sort(), EXPECTED_TOOLS);
      const res = await c.callTool({ name: "list_issues", arguments: { organization: "acme", limit: 2 } });
      assert.notEqual(res.isError, true);
      const validate = validators.get("list_issues");
      assert.ok(validate(res.structuredContent), ajv.errorsText(validate.errors));
    } finally {
      await c.close();
    }
  }
});

test("stdout carried only JSON-RPC messages; stderr has the server's log", () => {
  assert.deepEqual(transportErrors.map(String), []);
  assert.match(stderr, /serving MCP on stdio/);
  assert.ok(!stderr.includes(token), "the token never appears in the log");
});
