/**
 * The front's side of the Worker's v3 JSON API: a unary call is one POST; a
 * bidirectional stream is one WebSocket; a server stream is one POST read
 * line by line. Every failure becomes a gRPC status: the Worker's own etcd
 * errors pass through with their code and exact text (clients match on it);
 * a Worker that cannot be reached is Unavailable, so clients retry.
 */
import * as http from "node:http";
import * as https from "node:https";
import { status } from "@grpc/grpc-js";
import WebSocket from "ws";

/** A gRPC status to end a call with. */
export class StatusError extends Error {
  readonly code: status;
  readonly details: string;

  constructor(code: status, details: string) {
    super(details);
    this.code = code;
    this.details = details;
  }
}

/** One response line of a gateway stream: a message, or grpc-gateway's in-stream error. */
interface StreamLine {
  result?: object;
  error?: { grpc_code?: number; message?: string };
}

export class WorkerClient {
  private readonly endpoint: URL;
  private readonly root: string;
  /** Connections to the Worker, kept open between calls (a new TLS handshake per call would cost more than the call). */
  private readonly agent: http.Agent;

  /** `endpoint` is the Worker's origin; `root` the path its v3 API is under ("" for the default cluster). */
  constructor(endpoint: string, root: string) {
    this.endpoint = new URL(endpoint);
    this.root = `${this.endpoint.pathname.replace(/\/+$/, "")}${root}`;
    const options = { keepAlive: true, maxSockets: 512 };
    this.agent = this.endpoint.protocol === "https:" ? new https.Agent(options) : new http.Agent(options);
  }

  private url(path: string): string {
    return `${this.endpoint.origin}${this.root}/v3/${path}`;
  }

  async unary(path: string, request: object, headers: Record<string, string>): Promise<object> {
    const res = await this.post(path, JSON.stringify(request), headers);
    const text = await bodyText(res);
    if (res.statusCode === 200) return JSON.parse(text) as object;
    throw errorOf(res.statusCode ?? 0, text);
  }

  /** Each message of the answer of a streaming POST, until it ends (or `signal` aborts it). */
  async *lines(path: string, request: object, headers: Record<string, string>, signal: AbortSignal): AsyncGenerator<object> {
    const res = await this.post(path, JSON.stringify(request), headers, signal);
    if (res.statusCode !== 200) throw errorOf(res.statusCode ?? 0, await bodyText(res));
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line !== "") yield messageOf(line);
      }
    }
  }

  /** A WebSocket carrying one bidirectional stream: `send` requests, `onMessage` gets responses. */
  socket(path: string, headers: Record<string, string>, on: SocketEvents): StreamSocket {
    const url = this.url(path).replace(/^http/, "ws");
    // Events are small JSON lines: compressing each one costs both ends more
    // CPU than it saves on the wire.
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, agent: this.agent });
    const queued: string[] = [];
    let closed = false;
    const close = (error: StatusError | null) => {
      if (closed) return;
      closed = true;
      ws.terminate();
      on.onClose(error);
    };
    ws.on("open", () => queued.splice(0).forEach((m) => ws.send(m)));
    ws.on("message", (data) => {
      if (closed) return;
      try {
        on.onMessage(messageOf(String(data)));
      } catch (err) {
        close(err instanceof StatusError ? err : new StatusError(status.INTERNAL, String(err)));
      }
    });
    ws.on("error", (err) => close(new StatusError(status.UNAVAILABLE, `etcd-on-workers: the stream to ${url} failed: ${err.message}`)));
    ws.on("close", () => close(new StatusError(status.UNAVAILABLE, `etcd-on-workers: the Worker closed the stream at ${url}`)));
    return {
      send(message: object) {
        if (closed) return;
        const text = JSON.stringify(message);
        if (ws.readyState === WebSocket.OPEN) ws.send(text);
        else queued.push(text);
      },
      close: () => close(null),
    };
  }

  private post(path: string, body: string, headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const send = this.endpoint.protocol === "https:" ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(this.url(path), {
        method: "POST",
        agent: this.agent,
        signal,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...headers },
      });
      req.on("response", resolve);
      req.on("error", (err) => {
        if (signal?.aborted) reject(err);
        else reject(new StatusError(status.UNAVAILABLE, `etcd-on-workers: cannot reach the Worker at ${this.endpoint.origin}: ${err.message}`));
      });
      req.end(body);
    });
  }
}

async function bodyText(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

export interface SocketEvents {
  onMessage(message: object): void;
  /** The stream ended: `error` is null when the front closed it. */
  onClose(error: StatusError | null): void;
}

export interface StreamSocket {
  send(message: object): void;
  close(): void;
}

function messageOf(line: string): object {
  const m = JSON.parse(line) as StreamLine;
  if (m.result) return m.result;
  if (m.error) throw new StatusError(m.error.grpc_code ?? status.UNKNOWN, m.error.message ?? "");
  throw new StatusError(status.INTERNAL, `etcd-on-workers: unexpected stream line from the Worker: ${line.slice(0, 200)}`);
}

/**
 * The gRPC status of a gateway error answer: its `code` and `message` are
 * the gRPC status etcd would send. Anything else (a proxy's page, an
 * overloaded Worker) keeps its text and becomes Unavailable, so clients retry.
 */
function errorOf(httpStatus: number, text: string): StatusError {
  try {
    const e = JSON.parse(text) as { code?: unknown; message?: unknown };
    if (typeof e.code === "number" && typeof e.message === "string") return new StatusError(e.code, e.message);
  } catch {
    // not the gateway's JSON: below
  }
  if (httpStatus === 404) return new StatusError(status.UNIMPLEMENTED, "etcd-on-workers: the Worker does not serve this method");
  return new StatusError(status.UNAVAILABLE, `etcd-on-workers: the Worker answered ${httpStatus}: ${text.trim().slice(0, 200)}`);
}
