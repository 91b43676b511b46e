/**
 * Membership changes through /v2/members (POST, PUT, DELETE), with etcd's
 * request checks and answers: 415 for a non-JSON body, 400 with Go's JSON or
 * URL error text, 404/410 for unknown or removed members, 409 for a peer URL
 * already in use, then 201 or 204. The change itself goes through Raft.
 */
import type { Member } from "../server/members.ts";
import type { MemberChange } from "../server/api.ts";
import type { ClusterApi } from "./cluster-client.ts";
import { goJSONLine } from "../go/json.ts";
import { goJSONSyntaxError } from "../go/json-syntax.ts";
import { httpError, json, plainError } from "./go-http.ts";
import { readCappedText } from "./capped-body.ts";
import { RequestTooLarge } from "../server/limits.ts";

class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function membersWrite(
  request: Request,
  sub: string,
  api: ClusterApi,
  cid: Record<string, string>,
  memberJSON: (m: Member) => unknown,
): Promise<Response> {
  try {
    let change: MemberChange;
    if (request.method === "POST") {
      change = await api.addMember(await readPeerURLs(request));
      if (change.ok && change.member) return json(goJSONLine(memberJSON(change.member)), 201, cid);
    } else {
      if (sub === "") return plainError(405, "Method Not Allowed", cid);
      const id = parseMemberId(sub);
      change = request.method === "DELETE" ? await api.removeMember(id) : await api.updateMember(id, await readPeerURLs(request));
    }
    if (!change.ok) {
      if (change.status !== 500) return httpError(change.status, change.message, cid);
      // etcd hides internal causes (no leader, timeouts) behind this text.
      console.error(`members ${request.method} failed: ${change.message}`);
      return httpError(500, "Internal Server Error", cid);
    }
    return new Response(null, { status: 204, headers: cid });
  } catch (err) {
    if (err instanceof RequestError) return httpError(err.status, err.message, cid);
    throw err;
  }
}

/** A member id in hex, as etcd's types.IDFromString reads it; written back without leading zeros. */
function parseMemberId(text: string): string {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new RequestError(404, `No such member: ${text}`);
  return BigInt("0x" + text).toString(16);
}

/** etcd's unmarshalRequest + MemberCreateRequest: a JSON body {"peerURLs": [...]} of valid peer URLs. */
async function readPeerURLs(request: Request): Promise<string[]> {
  let ctype = request.headers.get("Content-Type") ?? "";
  const semi = ctype.indexOf(";");
  if (semi >= 0) ctype = ctype.slice(0, semi).trim().toLowerCase();
  if (ctype !== "application/json") throw new RequestError(415, `Bad Content-Type ${ctype}, accept application/json`);
  const text = await readCappedText(request).catch((err: unknown) => {
    // Go's text for a body cut off by http.MaxBytesReader.
    if (err instanceof RequestTooLarge) throw new RequestError(400, "http: request body too large");
    throw err;
  });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RequestError(400, goJSONSyntaxError(text));
  }
  const urls = (body as { peerURLs?: unknown } | null)?.peerURLs ?? [];
  if (!Array.isArray(urls) || !urls.every((u) => typeof u === "string")) {
    throw new RequestError(400, "json: cannot unmarshal peerURLs into Go struct field .peerURLs of type []string");
  }
  if (urls.length === 0) throw new RequestError(400, "no valid URLs given");
  return urls.map((u) => checkPeerURL(u.trim()));
}

/** Whether etcd's types.NewURLs takes these peer URLs: at least one, each valid (the v3 MemberAdd check). */
export function validPeerURLs(urls: string[]): boolean {
  try {
    for (const u of urls) checkPeerURL(u.trim());
  } catch (err) {
    if (err instanceof RequestError) return false;
    throw err;
  }
  return urls.length > 0;
}

/** etcd's types.NewURLs checks, with its error texts. */
function checkPeerURL(u: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)/.exec(u);
  const scheme = m?.[1].toLowerCase() ?? "";
  if (!["http", "https", "unix", "unixs"].includes(scheme)) {
    throw new RequestError(400, `URL scheme must be http, https, unix, or unixs: ${u}`);
  }
  const host = m?.[2] ?? "";
  if (!/^(\[[^\]]*\]|[^:]*):[^:]*$/.test(host)) {
    throw new RequestError(400, `URL address does not have the form "host:port": ${u}`);
  }
  if ((m?.[3] ?? "") !== "") throw new RequestError(400, `URL must not contain a path: ${u}`);
  return u;
}
