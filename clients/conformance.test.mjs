// The MCP conformance suite (@modelcontextprotocol/conformance, pinned in
// package-lock.json) against hosted mode, `sentry-mcp serve --http
// 127.0.0.1:0 --demo`:
//   - its server scenarios that apply (clients/conformance.json says which
//     and why the others do not), each at every protocol version the suite
//     lists for it, with an MCP access token got for the test by signing in
//     through the consent page (hosted-signin.mjs); the suite has no option
//     for request headers, so conformance-bearer.mjs, preloaded into it,
//     adds the token;
//   - its authorization-server scenarios: the RFC 8414 metadata, and the
//     authorization code grant with a client registered for the test, the
//     browser of hosted-signin.mjs taking the suite's authorization URL
//     through consent to the suite's callback.
// A check that fails or warns fails the test unless conformance.json excuses
// it; an excuse for a check that now passes fails it too.
//
// Run by scripts/test-clients.sh:
//   SENTRY_MCP_BIN=/path/sentry-mcp CONFORMANCE_NODE=/path/node22 \
//   [CONFORMANCE_SUMMARY=file] node --test clients/conformance.test.mjs
// CONFORMANCE_NODE runs the suite (it needs Node >= 22: fs.globSync);
// CONFORMANCE_SUMMARY, if set, receives a one-line summary.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { Browser, signIn, startHosted } from "./hosted-signin.mjs";

const bin = process.env.SENTRY_MCP_BIN;
const node = process.env.CONFORMANCE_NODE;
if (!bin || !node) {
  throw new Error("set SENTRY_MCP_BIN and CONFORMANCE_NODE (scripts/test-clients.sh does)");
}
const here = dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(readFileSync(join(here, "conformance.json"), "utf8"));
const pkgPath = createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json");
const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
const cli = join(dirname(pkgPath), typeof pkg.bin === "string" ? pkg.bin : pkg.bin.conformance);
const bearer = join(here, "conformance-bearer.mjs");

// Protocol versions: dated ones are wire versions; "extension" is a label.
const DATED = /^\d{4}-\d{2}-\d{2}$/;

let server; // from startHosted
let dir;
let token;
const summary = { runs: 0, failed: 0, checks: 0, excused: 0 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "sentry-mcp-conformance-"));
  server = await startHosted(bin, dir);
  ({ tokens: { access_token: token } } = await signIn(server.mcpURL, { clientName: "sentry-mcp conformance run" }));
});

after(async () => {
  if (server) {
    const res = await server.stop();
    assert.ok(res !== null, `serve --http did not exit within 10 s of SIGTERM:\n${server.log()}`);
    assert.equal(res.code, 0, `serve --http exited ${res.code ?? res.signal} after SIGTERM:\n${server.log()}`);
    assert.ok(!token || !server.log().includes(token), "the server's log contains the access token");
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.env.CONFORMANCE_SUMMARY) {
    const na = Object.keys(config.server.notApplicable).length + Object.keys(config.authorization.notApplicable).length;
    writeFileSync(
      process.env.CONFORMANCE_SUMMARY,
      `conformance ${pkg.version}: ${summary.runs} scenario runs (${config.server.run.length} server scenarios at each ` +
        `of their protocol versions, ${config.authorization.run.length} authorization), ${summary.failed} failed; ` +
        `${summary.checks} checks passed, ${summary.excused} excused; ${na} scenarios not applicable (clients/conformance.json)\n`,
    );
  }
});

// runSuite runs the suite's CLI with args (its output under a fresh -o
// directory) and resolves to { code, stdout, stderr, results } where
// results maps each scenario to its checks. onStdout(stdout, child) sees
// stdout as it grows.
async function runSuite(args, { onStdout, withToken = true, output = true } = {}) {
  const out = mkdtempSync(join(dir, "results-"));
  const env = { PATH: process.env.PATH, HOME: dir };
  const pre = [];
  if (withToken) {
    pre.push("--import", bearer);
    env.CONFORMANCE_BEARER_TOKEN = token;
    env.CONFORMANCE_BEARER_ORIGIN = server.origin;
  }
  const child = spawn(node, [...pre, cli, ...args, ...(output ? ["-o", out] : [])], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b) => {
    stdout += b;
    onStdout?.(stdout, child);
  });
  child.stderr.on("data", (b) => (stderr += b));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
  const code = await new Promise((resolve) => child.once("exit", (c, s) => resolve(c ?? s)));
  clearTimeout(timer);
  const results = new Map();
  for (const d of readdirSync(out)) {
    const scenario = d.replace(/^(server|authorization-server)-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    const file = join(out, d, "checks.json");
    if (existsSync(file)) results.set(scenario, JSON.parse(readFileSync(file, "utf8"))); // absent when killed mid-scenario
  }
  return { code, stdout, stderr, results };
}

// scenarios parses `conformance list --KIND`: name -> [versions].
async function scenarios(kind) {
  const { code, stdout, stderr } = await runSuite(["list", `--${kind}`], { withToken: false, output: false });
  assert.equal(code, 0, `conformance list --${kind}: ${stderr}`);
  const m = new Map();
  for (const [, name, versions] of stdout.matchAll(/^\s+- (\S+) \[([^\]]*)\]$/gm)) {
    m.set(name, versions.split(","));
  }
  assert.ok(m.size > 0, `no scenarios in conformance list --${kind}:\n${stdout}`);
  return m;
}

const bad = (c) => c.status === "FAILURE" || c.status === "WARNING";
const describe = (c) => `${c.status} ${c.id}: ${c.errorMessage ?? c.description}`;

// judge checks the checks of one run of scenario and returns the problems
// (empty: it passed). excusedSeen records which excuses matched.
function judge(scenario, checks, excusedSeen) {
  const problems = [];
  for (const c of checks) {
    const key = `${scenario}:${c.id}`;
    if (key in config.server.excusedChecks) {
      if (bad(c)) excusedSeen.add(key);
      continue;
    }
    if (bad(c)) problems.push(describe(c));
  }
  const own = checks.filter((c) => c.status === "SUCCESS" && c.id !== "wire-schema-valid");
  if (problems.length === 0 && own.length === 0) {
    problems.push(`no check of its own passed (${checks.map((c) => `${c.status} ${c.id}`).join(", ") || "no checks"})`);
  }
  summary.checks += checks.filter((c) => c.status === "SUCCESS").length;
  return problems;
}

// classified asserts every scenario the suite lists is run or not
// applicable (not both), and that conformance.json names no other.
function classified(kind, listed, section) {
  const run = new Set(section.run);
  const na = new Set(Object.keys(section.notApplicable));
  for (const name of listed.keys()) {
    assert.ok(run.has(name) !== na.has(name), `${kind} scenario ${name}: in ${run.has(name) ? "both run and notApplicable" : "neither run nor notApplicable"} of clients/conformance.json`);
  }
  for (const name of [...run, ...na]) {
    assert.ok(listed.has(name), `clients/conformance.json names ${kind} scenario ${name}, which conformance ${pkg.version} does not have`);
  }
}

test("conformance: the server scenarios that apply, with a token from the consent flow", { concurrency: 3 }, async (t) => {
  const listed = await scenarios("server");
  classified("server", listed, config.server);
  for (const key of Object.keys(config.server.notApplicableAt ?? {})) {
    const [name, version] = key.split("@");
    assert.ok(config.server.run.includes(name) && listed.get(name).includes(version), `notApplicableAt ${key}: not a run scenario at a version the suite lists`);
  }
  const runs = [];
  for (const name of config.server.run) {
    const dated = listed.get(name).filter((v) => DATED.test(v));
    for (const version of dated.length ? dated : [undefined]) {
      if (version && `${name}@${version}` in (config.server.notApplicableAt ?? {})) continue;
      runs.push({ name, version });
    }
  }

  const excusedSeen = new Set();
  await Promise.all(
    runs.map(({ name, version }) =>
      t.test(`${name}${version ? ` @ ${version}` : ""}`, async () => {
        const args = ["server", "--url", server.mcpURL, "--scenario", name];
        if (version) args.push("--spec-version", version);
        const { stdout, stderr, results } = await runSuite(args);
        const checks = results.get(name);
        assert.ok(checks, `no results for ${name}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
        const problems = judge(name, checks, excusedSeen);
        summary.runs++;
        if (problems.length) summary.failed++;
        assert.ok(problems.length === 0, `${name}${version ? ` at ${version}` : ""}:\n  ${problems.join("\n  ")}`);
      }),
    ),
  );
  const stale = Object.keys(config.server.excusedChecks).filter((k) => !excusedSeen.has(k));
  assert.ok(stale.length === 0, `excused checks in clients/conformance.json that no longer fail or warn (remove them): ${stale.join(", ")}`);
  summary.excused = excusedSeen.size;
});

// freePort returns a loopback port nothing listens on (just now).
async function freePort() {
  const s = createServer();
  await new Promise((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

test("conformance: the authorization-server scenarios (metadata, authorization code grant through consent)", async () => {
  const listed = await scenarios("authorization");
  classified("authorization", listed, config.authorization);

  // A public client registered for the suite's callback (RFC 7591).
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/callback`;
  const reg = await fetch(`${server.origin}/oauth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "MCP conformance suite",
      redirect_uris: [callback],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
  });
  const client = await reg.json();
  assert.equal(reg.status, 201, JSON.stringify(client));

  // The suite prints the authorization URL and waits for its callback: the
  // browser takes it through consent and Sentry's authorize, then delivers
  // the redirect to the suite's callback server.
  const browser = new Browser(server.origin, callback);
  let walked;
  const { code, stdout, stderr, results } = await runSuite(
    ["authorization", "--url", server.origin, "--client-id", client.client_id, "--resource", server.mcpURL, "--port", String(port)],
    {
      withToken: false,
      onStdout(out, child) {
        const m = /^(http:\/\/\S+\/oauth\/authorize\?\S+)$/m.exec(out);
        if (m && !walked) {
          walked = browser.approve(m[1]).then(async (redirect) => {
            const res = await fetch(redirect);
            assert.equal(res.status, 200, `the suite's callback: ${await res.text()}`);
            return redirect;
          });
          walked.catch(() => child.kill()); // else it waits 5 minutes for the callback; the error is awaited below
        }
      },
    },
  );
  assert.ok(walked, `the suite printed no authorization URL:\n${stdout}\n${stderr}`);
  const redirect = await walked;
  assert.equal(redirect.searchParams.get("iss"), server.origin);
  for (const name of config.authorization.run) {
    const checks = results.get(name);
    assert.ok(checks, `no results for ${name}:\n${stdout.slice(-2000)}`);
    const problems = checks.filter(bad).map(describe);
    if (!checks.some((c) => c.status === "SUCCESS")) problems.push("no check passed");
    summary.checks += checks.filter((c) => c.status === "SUCCESS").length;
    summary.runs++;
    if (problems.length) summary.failed++;
    assert.ok(problems.length === 0, `${name}:\n  ${problems.join("\n  ")}`);
  }
  assert.equal(code, 0, `conformance authorization exited ${code}:\n${stdout.slice(-2000)}`);
});
