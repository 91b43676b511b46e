// Minimal typings for the Node built-ins that the type-checked code running in
// plain Node (the compatibility suite and support/) uses.
//
// Why this file exists: the root tsconfig limits `types` to the Workers and
// vitest-plugin typings (the server runs in workerd, not Node), and the repo
// has no @types/node. The compat suite and support/processes.ts, however, run
// in plain Node: they spawn etcd, wrangler, etcdctl and python. Rather than loosen the project's
// tsconfig, we declare exactly the slice of Node we call, so `tsc --noEmit`
// stays strict. If @types/node is ever added, delete this file.

declare module "node:child_process" {
  interface Readable {
    on(event: "data", listener: (chunk: Uint8Array) => void): this;
    setEncoding(enc: "utf8"): this;
  }
  interface Writable {
    write(data: string): boolean;
    end(): void;
  }
  interface ChildProcess {
    readonly pid?: number;
    readonly exitCode: number | null;
    readonly signalCode: string | null;
    readonly stdout: Readable | null;
    readonly stderr: Readable | null;
    readonly stdin: Writable | null;
    kill(signal?: string): boolean;
    unref(): void;
    on(event: "exit", listener: (code: number | null, signal: string | null) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    once(event: "exit", listener: (code: number | null, signal: string | null) => void): this;
  }
  interface SpawnOptions {
    cwd?: string;
    env?: Record<string, string | undefined>;
    detached?: boolean;
    stdio?: "ignore" | "pipe" | Array<"ignore" | "pipe" | "inherit" | number>;
  }
  function spawn(command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
}

declare module "node:fs" {
  function mkdtempSync(prefix: string): string;
  function rmSync(path: string, options?: { recursive?: boolean; force?: boolean }): void;
  function writeFileSync(path: string, data: string): void;
  function appendFileSync(path: string, data: string): void;
  function readFileSync(path: string, encoding: "utf8"): string;
  function existsSync(path: string): boolean;
  function openSync(path: string, flags: string): number;
  function closeSync(fd: number): void;
  function mkdirSync(path: string, options?: { recursive?: boolean }): void;
  function copyFileSync(src: string, dest: string): void;
}

declare module "node:os" {
  function tmpdir(): string;
}

declare module "node:path" {
  function join(...parts: string[]): string;
  function resolve(...parts: string[]): string;
  function dirname(p: string): string;
  function basename(p: string): string;
}

declare module "node:url" {
  function fileURLToPath(url: string | URL): string;
}

declare module "node:net" {
  interface AddressInfo {
    port: number;
  }
  interface Server {
    listen(port: number, host: string, cb: () => void): this;
    address(): AddressInfo | string | null;
    close(cb?: (err?: Error) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
  }
  function createServer(): Server;
}

declare module "node:http" {
  type IncomingHttpHeaders = Record<string, string | string[] | undefined>;
  interface IncomingMessage {
    readonly statusCode?: number;
    readonly headers: IncomingHttpHeaders;
    readonly rawHeaders: string[];
    on(event: "data", listener: (chunk: Uint8Array) => void): this;
    on(event: "end", listener: () => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    on(event: "aborted" | "close", listener: () => void): this;
    resume(): this;
    destroy(): void;
  }
  interface ClientRequest {
    on(event: "response", listener: (res: IncomingMessage) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    on(event: "timeout", listener: () => void): this;
    setTimeout(ms: number, cb: () => void): this;
    write(data: string | Uint8Array): boolean;
    end(data?: string | Uint8Array): void;
    destroy(err?: Error): void;
  }
  interface RequestOptions {
    host?: string;
    port?: number;
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    agent?: false;
    setHost?: boolean;
    timeout?: number;
  }
  function request(options: RequestOptions, cb?: (res: IncomingMessage) => void): ClientRequest;
  function get(options: RequestOptions, cb?: (res: IncomingMessage) => void): ClientRequest;
}

interface ImportMeta {
  readonly url: string;
}

/** The `ws` client, as the compat suite uses it (etcd's gateway serves /v3/watch over WebSocket). */
declare module "ws" {
  export default class WebSocket {
    constructor(url: string);
    on(event: "open" | "close", listener: () => void): this;
    on(event: "message", listener: (data: { toString(): string }) => void): this;
    on(event: "error", listener: (err: Error) => void): this;
    send(data: string): void;
    close(): void;
  }
}
