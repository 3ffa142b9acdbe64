// Starts a staged bundle's server the way Claude Desktop does: the command,
// args and env of manifest.json's mcp_config, with ${__dirname} the bundle
// directory and ${user_config.X} the values given here. Then speaks MCP over
// stdio (initialize, tools/list, tools/call whoami) and checks the answers
// against the manifest and TOOLS_JSON (`sentry-mcp tools --demo --json`):
// with read_only=true and toolsets=all, exactly its read-only tools.
// Exits non-zero on any failure.
//
//   node smoke.mjs BUNDLE_DIR SENTRY_URL TOKEN TOOLS_JSON
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [dir, sentryURL, token, toolsJSON] = process.argv.slice(2);
if (!toolsJSON) {
  console.error("usage: node smoke.mjs BUNDLE_DIR SENTRY_URL TOKEN TOOLS_JSON");
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const userConfig = { auth_token: token, sentry_url: sentryURL, read_only: "true", toolsets: "all" };
for (const k of Object.keys(manifest.user_config)) {
  if (!(k in userConfig)) throw new Error(`smoke test gives no value for user_config.${k}`);
}
const subst = (s) =>
  s.replaceAll("${__dirname}", dir).replace(/\$\{user_config\.([a-z_]+)\}/g, (_, k) => {
    if (!(k in manifest.user_config)) throw new Error(`undeclared user_config.${k}`);
    return String(userConfig[k]);
  });
const cfg = manifest.server.mcp_config;
const env = { PATH: process.env.PATH, HOME: process.env.HOME };
for (const [k, v] of Object.entries(cfg.env ?? {})) env[k] = subst(v);
const child = spawn(subst(cfg.command), (cfg.args ?? []).map(subst), { env, stdio: ["pipe", "pipe", "inherit"] });

const pending = new Map();
createInterface({ input: child.stdout }).on("line", (line) => {
  const msg = JSON.parse(line);
  if (msg.id !== undefined && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
});
let nextID = 1;
const request = (method, params) =>
  new Promise((resolve, reject) => {
    const id = nextID++;
    pending.set(id, (m) => (m.error ? reject(new Error(`${method}: ${JSON.stringify(m.error)}`)) : resolve(m.result)));
    child.stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
  });
const timer = setTimeout(() => fail(new Error("no answer within 20 s")), 20000);
function fail(err) {
  console.error("smoke:", err.message);
  child.kill();
  process.exit(1);
}
child.on("exit", (code) => {
  if (pending.size) fail(new Error(`server exited (${code}) with requests unanswered`));
});

try {
  const init = await request("initialize", {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "mcpb-smoke", version: "0" },
  });
  child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
  if (init.serverInfo?.version !== manifest.version && init.serverInfo?.version !== "v" + manifest.version) {
    throw new Error(`server version ${init.serverInfo?.version}, manifest ${manifest.version}`);
  }
  const { tools } = await request("tools/list", {});
  const listed = new Set(manifest.tools.map((t) => t.name));
  for (const t of tools) {
    if (!listed.has(t.name)) throw new Error(`server offers ${t.name}, which manifest.json does not list`);
    if (t.annotations?.readOnlyHint === false) throw new Error(`read_only=true but ${t.name} is offered`);
  }
  const want = JSON.parse(readFileSync(toolsJSON, "utf8")).tools.filter((t) => t.read_only).map((t) => t.name).sort();
  const got = tools.map((t) => t.name).sort();
  if (got.join() !== want.join()) throw new Error(`offered ${got.join()}; want the read-only tools ${want.join()}`);
  const who = await request("tools/call", { name: "whoami", arguments: {} });
  if (who.isError) throw new Error(`whoami: ${JSON.stringify(who.content)}`);
  console.log(`smoke: ${init.serverInfo.name} ${init.serverInfo.version} offers ${tools.length} of ${listed.size} tools read-only; whoami ok`);
} catch (err) {
  fail(err);
}
clearTimeout(timer);
child.stdin.end();
child.kill();
