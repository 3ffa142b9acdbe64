// Sign-in to hosted mode for the client tests: starting
// `sentry-mcp serve --http 127.0.0.1:0 --demo`, a browser that walks the
// consent page and the built-in sample Sentry's authorize (which approves at
// once), and an OAuthClientProvider for the TypeScript SDK that uses it.
// Used by hosted.test.mjs (the SDK's own OAuth steps, checked one by one)
// and conformance.test.mjs (a token for the conformance suite).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";

import { auth } from "@modelcontextprotocol/sdk/client/auth.js";

// The redirect URI the test clients register (loopback: any port matches).
export const REDIRECT_URL = "http://127.0.0.1:47621/callback";

// startHosted runs `bin serve --http 127.0.0.1:0 --demo` with its database
// and XDG directories under dir, waits for its "serving MCP over HTTP" line
// and returns its /mcp URL, its origin, its stderr so far (log()) and
// stop(), which sends SIGTERM and resolves to { code, signal }, or null if
// it had not exited 10 s later (then it is killed).
export async function startHosted(bin, dir, extraArgs = []) {
  const child = spawn(bin, ["serve", "--http", "127.0.0.1:0", "--demo", "--database", join(dir, "hosted.db"), ...extraArgs], {
    env: { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, "data"), XDG_CONFIG_HOME: join(dir, "config") },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const mcpURL = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving MCP over HTTP" line within 15 s:\n${stderr}`)), 15000);
    child.stderr.on("data", (b) => {
      stderr += b;
      const m = /msg="serving MCP over HTTP".*\burl=(http:\/\/[^\s"]+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve --http exited (${code ?? signal}) before serving:\n${stderr}`));
    });
  });
  const u = new URL(mcpURL);
  assert.equal(u.pathname, "/mcp", `serving URL ${mcpURL}`);
  return {
    mcpURL,
    origin: u.origin,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      let timer;
      const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(null), 10000); });
      const res = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (res === null) child.kill("SIGKILL");
      return res;
    },
  };
}

// Browser is a user agent: cookies per host:port, redirects followed by hand.
export class Browser {
  // origin is the hosted server's (http://127.0.0.1:PORT).
  constructor(origin, redirectURL = REDIRECT_URL) {
    this.origin = origin;
    this.redirectURL = redirectURL;
    this.cookies = new Map(); // host -> Map(name -> value)
    this.consentPages = [];
    this.upstream = []; // URL of each redirect to Sentry's /oauth/authorize/
  }

  async fetch(url, init = {}) {
    const u = new URL(url);
    const jar = this.cookies.get(u.host) ?? new Map();
    const headers = new Headers(init.headers);
    if (jar.size) {
      headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(u, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    this.cookies.set(u.host, jar);
    return res;
  }

  // redirect asserts res is a 302/303 and returns its Location, resolved.
  static async redirect(res, step) {
    const body = await res.text();
    assert.ok([302, 303].includes(res.status), `${step}: status ${res.status}, want a redirect: ${body.slice(0, 500)}`);
    return new URL(res.headers.get("location"), res.url);
  }

  // approve walks from the server's /oauth/authorize to the client's
  // redirect URI and returns that URI as the server redirected to it
  // (a URL, not fetched; its searchParams hold code, state and iss).
  async approve(authorizationUrl) {
    const origin = this.origin;
    authorizationUrl = new URL(authorizationUrl);
    assert.equal(authorizationUrl.origin + authorizationUrl.pathname, `${origin}/oauth/authorize`);
    // 1. The consent page.
    let res = await this.fetch(authorizationUrl);
    const page = await res.text();
    assert.equal(res.status, 200, `consent page: ${page.slice(0, 500)}`);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(res.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    this.consentPages.push(page);
    const form = parseConsent(page);
    assert.ok(form.fields.get("csrf_token"), "the consent form has a hidden csrf_token");
    assert.ok(form.buttons.has("deny"), 'the consent form has <button name="decision" value="deny">');
    const action = new URL(form.action, res.url);
    assert.equal(action.href, `${origin}/oauth/authorize`);

    // 2. Submit it (with the page's cookie, and the Origin a browser sends).
    const body = new URLSearchParams(form.fields);
    body.set("decision", "approve");
    res = await this.fetch(action, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body,
    });
    let next = await Browser.redirect(res, "consent POST");
    assert.match(next.pathname, /\/oauth\/authorize\/$/, `consent POST redirected to ${next.origin}${next.pathname}, want Sentry's /oauth/authorize/`);
    assert.notEqual(next.origin, origin, "Sentry's authorize is on the Sentry host, not ours");
    this.upstream.push(next);

    // 3. Sentry's authorize (the demo approves at once) back to our callback.
    res = await this.fetch(next);
    next = await Browser.redirect(res, "Sentry authorize");
    assert.equal(next.origin + next.pathname, `${origin}/oauth/callback`);

    // 4. The callback, to the client's redirect URI.
    res = await this.fetch(next);
    next = await Browser.redirect(res, "callback");
    assert.equal(next.origin + next.pathname, this.redirectURL);
    return next;
  }
}

const attr = (s, name) => {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, "i").exec(s);
  return m ? decodeEntities(m[1] ?? m[2]) : undefined;
};
const decodeEntities = (s) =>
  s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
    const named = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[e.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });

// parseConsent finds the POST form with the approve button.
export function parseConsent(page) {
  for (const [, formAttrs, inner] of page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    if ((attr(formAttrs, "method") ?? "").toLowerCase() !== "post") continue;
    const fields = new Map();
    for (const [, a] of inner.matchAll(/<input\b([^>]*)>/gi)) {
      if ((attr(a, "type") ?? "").toLowerCase() === "hidden" && attr(a, "name")) {
        fields.set(attr(a, "name"), attr(a, "value") ?? "");
      }
    }
    const buttons = new Set();
    for (const [, a] of inner.matchAll(/<button\b([^>]*)>/gi)) {
      if (attr(a, "name") === "decision") buttons.add(attr(a, "value"));
    }
    if (buttons.has("approve")) return { action: attr(formAttrs, "action"), fields, buttons };
  }
  assert.fail(`no <form method="post"> with <button name="decision" value="approve"> on the consent page:\n${page.slice(0, 1000)}`);
}

// BrowserOAuthProvider is the SDK's OAuthClientProvider: dynamic
// registration as a public client, state it checks, and the browser for
// the redirect (the code it captures is in .code).
export class BrowserOAuthProvider {
  constructor(browser, clientName = "sentry-mcp e2e (TypeScript SDK)") {
    this.browser = browser;
    this.clientName = clientName;
    this.client = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.expectedState = undefined;
    this.code = undefined;
    this.issued = []; // every token set saved
  }
  get redirectUrl() {
    return this.browser.redirectURL;
  }
  get clientMetadata() {
    return {
      client_name: this.clientName,
      redirect_uris: [this.browser.redirectURL],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    this.expectedState = crypto.randomUUID();
    return this.expectedState;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
    this.issued.push(tokens);
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(url) {
    const q = (await this.browser.approve(url)).searchParams;
    assert.equal(q.get("error"), null, `the client's redirect URI got error=${q.get("error")}`);
    assert.equal(q.get("state"), this.expectedState, "the state came back unchanged");
    assert.equal(q.get("iss"), this.browser.origin, "RFC 9207 iss is the issuer");
    assert.ok(q.get("code"), "a code");
    this.code = q.get("code");
  }
}

// signIn signs in to the hosted server at mcpURL (its /mcp or /mcp/{org})
// as a new dynamically registered public client, by the SDK's auth():
// discovery, registration, the browser through consent, and the code
// exchange. It returns the tokens ({ access_token, refresh_token,
// expires_in, ... }), the provider (client registration, code) and the
// browser. scope, when given, is the space-separated Sentry scopes asked
// for (else the server's default).
export async function signIn(mcpURL, { scope, clientName = "sentry-mcp client tests" } = {}) {
  const browser = new Browser(new URL(mcpURL).origin);
  const provider = new BrowserOAuthProvider(browser, clientName);
  const serverUrl = new URL(mcpURL);
  assert.equal(await auth(provider, { serverUrl, scope }), "REDIRECT");
  assert.ok(provider.code, "the browser captured a code");
  assert.equal(await auth(provider, { serverUrl, scope, authorizationCode: provider.code }), "AUTHORIZED");
  const tokens = provider.tokens();
  assert.ok(tokens?.access_token, "an access token");
  return { tokens, provider, browser };
}
