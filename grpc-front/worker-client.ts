/**
 * The front's side of the Worker's v3 JSON API: a unary call is one POST; a
 * bidirectional stream is one WebSocket; a server stream is one POST read
 * line by line. Every failure becomes a gRPC status: the Worker's own etcd
 * errors pass through with their code and exact text (clients match on it);
 * a Worker that cannot be reached is Unavailable, so clients retry.
 */
import { status } from "@grpc/grpc-js";

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
  private readonly endpoint: string;
  private readonly root: string;

  /** `endpoint` is the Worker's origin; `root` the path its v3 API is under ("" for the default cluster). */
  constructor(endpoint: string, root: string) {
    this.endpoint = endpoint.replace(/\/+$/, "");
    this.root = root;
  }

  private url(path: string): string {
    return `${this.endpoint}${this.root}/v3/${path}`;
  }

  async unary(path: string, request: object, headers: Record<string, string>): Promise<object> {
    const res = await this.post(path, JSON.stringify(request), headers);
    const text = await res.text();
    if (res.status === 200) return JSON.parse(text) as object;
    throw errorOf(res.status, text);
  }

  /** Each message of the answer of a streaming POST, until it ends (or `signal` aborts it). */
  async *lines(path: string, request: object, headers: Record<string, string>, signal: AbortSignal): AsyncGenerator<object> {
    const res = await this.post(path, JSON.stringify(request), headers, signal);
    if (res.status !== 200) throw errorOf(res.status, await res.text());
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
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
    // Node's WebSocket (undici) takes request headers as an extension.
    const ws = new WebSocket(url, { headers } as unknown as string[]);
    const queued: string[] = [];
    let closed = false;
    const close = (error: StatusError | null) => {
      if (closed) return;
      closed = true;
      ws.close();
      on.onClose(error);
    };
    ws.addEventListener("open", () => queued.splice(0).forEach((m) => ws.send(m)));
    ws.addEventListener("message", (e) => {
      if (closed) return;
      try {
        on.onMessage(messageOf(String(e.data)));
      } catch (err) {
        close(err instanceof StatusError ? err : new StatusError(status.INTERNAL, String(err)));
      }
    });
    ws.addEventListener("error", () => close(new StatusError(status.UNAVAILABLE, `etcd-on-workers: the stream to ${url} failed`)));
    ws.addEventListener("close", () => close(new StatusError(status.UNAVAILABLE, `etcd-on-workers: the Worker closed the stream at ${url}`)));
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

  private async post(path: string, body: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(this.url(path), { method: "POST", body, headers: { "Content-Type": "application/json", ...headers }, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new StatusError(status.UNAVAILABLE, `etcd-on-workers: cannot reach the Worker at ${this.endpoint}: ${(err as Error).cause ?? err}`);
    }
  }
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
