// Mutations applied on top of a generated request: the wrong method, a
// truncated or broken body, a body of another kind, a body just over the
// limit, headers that lie, a path with something odd added. Each is rare
// enough that most requests stay close to valid and reach deep code.
import type { Rng } from "./rng.ts";
import { onTheWire, type FuzzRequest } from "./request.ts";
import { MAX_V3_BODY_BYTES, oddString, randomText, sized } from "./values.ts";

export function mutate(r: Rng, req: FuzzRequest): FuzzRequest {
  const out: FuzzRequest = { ...req, headers: { ...req.headers } };
  if (r.chance(0.05)) out.method = r.pick(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "TRACE", "FUZZ"]);
  if (r.chance(0.15)) out.body = mutateBody(r, req.body);
  if (r.chance(0.04)) out.path = mutatePath(r, out.path);
  if (r.chance(0.03)) out.headers["Content-Type"] = r.pick(["", "application/json; charset=utf-16", "text/html", "application/x-www-form-urlencoded; boundary=", "\u00e9"].map((s) => s.replace(/[^\x20-\x7e]/g, "?")));
  if (r.chance(0.02)) out.headers["Transfer-Encoding"] = "chunked";
  if (r.chance(0.02)) out.headers.Accept = r.pick(["text/event-stream", "*/*", "application/grpc"]);
  if (r.chance(0.02)) out.headers.Upgrade = "websocket";
  // A method changed to GET can make a long poll of a v2 or discovery
  // request that asked to wait: its answer's headers come at once, its body
  // only with an event, so it is read as a stream, as the generators read
  // a GET they made themselves.
  if (out.method === "GET" && req.method !== "GET" && /[?&]wait=true/.test(out.path)) out.shape = "stream";
  return out;
}

function mutateBody(r: Rng, body: string | Uint8Array | undefined): string | Uint8Array {
  const text = body === undefined ? "" : typeof body === "string" ? body : Buffer.from(body).toString("latin1");
  switch (r.int(9)) {
    case 0: return text.slice(0, r.int(text.length + 1));
    case 1: return text + r.pick(["}", "]", ",", "\u0000", "{}", " trailing", "\n{\"x\":1}", "\n\n"]);
    case 2: return r.pick(["", " ", "null", "0", "[]", "\"\"", "{}", "{\"\":{}}", "[{}]", "true", "\ufeff{}"]);
    case 3: return text.replace(/"/g, r.pick(["'", "", "\\\""]));
    case 4: return Buffer.from(r.bytes(r.int(256)));
    case 5: return randomText(r, r.int(200));
    case 6: return `{"key":"${sized(r, MAX_V3_BODY_BYTES + 1 - 10)}"}`;
    case 7: return text.replace(/:(\s*)"/g, () => `:${r.chance(0.5) ? "1e999" : "-1"},"z":"`);
    default: return `${text}${"\n".repeat(r.int(3))}${text}`;
  }
}

function mutatePath(r: Rng, path: string): string {
  const [p, q] = path.split("?", 2);
  switch (r.int(6)) {
    case 0: return onTheWire(`${p}/${oddString(r)}${q === undefined ? "" : `?${q}`}`);
    case 1: return `${p}${r.pick(["%", "%zz", "%00", "%2e%2e", "/..", "//", "/.", ";x", "#frag"])}${q === undefined ? "" : `?${q}`}`;
    case 2: return onTheWire(`${p}?${q ?? ""}&${oddString(r)}=${oddString(r)}`);
    case 3: return p.toUpperCase();
    case 4: return `${p}${"?x=1&".repeat(1 + r.int(200))}`;
    default: return onTheWire(`/${randomText(r, 1 + r.int(20))}`);
  }
}
