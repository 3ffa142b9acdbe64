// Preloaded into @modelcontextprotocol/conformance (node --import) by
// conformance.test.mjs: the suite's server runner has no option for
// request headers, so this adds `Authorization: Bearer $CONFORMANCE_BEARER_TOKEN`
// to every request it sends to CONFORMANCE_BEARER_ORIGIN
// (http://127.0.0.1:PORT) that carries no Authorization header of its own.
// It installs an undici interceptor as the process's global dispatcher,
// which both Node's fetch (the suite's and the SDK transport's) and the
// undici request() the DNS rebinding scenario uses go through, and wraps
// http.request, which the SEP-2243 header scenarios call directly.
import http from "node:http";
import { createRequire } from "node:module";

// The undici the suite itself imports (its own dependency, not ours).
const suite = createRequire(import.meta.url).resolve("@modelcontextprotocol/conformance/package.json");
const { getGlobalDispatcher, setGlobalDispatcher } = createRequire(suite)("undici");

const token = process.env.CONFORMANCE_BEARER_TOKEN;
const origin = process.env.CONFORMANCE_BEARER_ORIGIN;
if (!token || !origin) {
  throw new Error("conformance-bearer.mjs: set CONFORMANCE_BEARER_TOKEN and CONFORMANCE_BEARER_ORIGIN");
}
const want = new URL(origin).origin;

// pairs returns undici's request headers (a flat [k, v, ...] array, an
// iterable of [k, v], or an object) as [k, v] pairs.
function pairs(headers) {
  if (headers == null) return [];
  if (Array.isArray(headers)) {
    if (headers.length && !Array.isArray(headers[0])) {
      const out = [];
      for (let i = 0; i < headers.length; i += 2) out.push([headers[i], headers[i + 1]]);
      return out;
    }
    return headers.map(([k, v]) => [k, v]);
  }
  if (typeof headers[Symbol.iterator] === "function") return [...headers].map(([k, v]) => [k, v]);
  return Object.entries(headers);
}

const withBearer = (dispatch) => (opts, handler) => {
  if (new URL(String(opts.origin)).origin === want) {
    const h = pairs(opts.headers);
    if (!h.some(([k]) => String(k).toLowerCase() === "authorization")) {
      h.push(["authorization", `Bearer ${token}`]);
      opts = { ...opts, headers: h.flat() };
    }
  }
  return dispatch(opts, handler);
};

setGlobalDispatcher(getGlobalDispatcher().compose(withBearer));

// http.request(options[, callback]) with options an object (the only form
// the suite uses); other forms pass through unchanged.
const request = http.request;
http.request = function (options, ...rest) {
  if (options && typeof options === "object" && !(options instanceof URL)) {
    const u = new URL(`http://${options.hostname ?? options.host ?? "localhost"}:${options.port ?? 80}`);
    const headers = { ...options.headers };
    if (u.origin === want && !Object.keys(headers).some((k) => k.toLowerCase() === "authorization")) {
      headers.authorization = `Bearer ${token}`;
      options = { ...options, headers };
    }
  }
  return request.call(this, options, ...rest);
};
