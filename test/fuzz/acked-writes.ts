// The acknowledged writes: a well-behaved client that writes v2 and v3 keys
// under the protected prefixes (which the fuzzer never writes) before and
// during the run, records each write the server acknowledged, and reads
// them all back afterwards with quorum (v2) and linearizable (v3) reads.
import { PROTECTED_V2_DIR, PROTECTED_V3_PREFIX } from "./protected.ts";

interface Ack {
  api: "v2" | "v3";
  key: string;
  value: string;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const unb64 = (s: string) => Buffer.from(s, "base64").toString("utf8");
const WRITE_TIMEOUT_MS = 10_000;

export class AckedWrites {
  readonly acked: Ack[] = [];
  /** Writes that got no acknowledgement (timed out, or refused): they may or may not have happened, so they are not checked. */
  unacknowledged = 0;
  private next = 0;
  private running: Promise<void> | null = null;
  private stopping = false;

  private readonly base: string;
  /** Makes this run's values its own. */
  private readonly tag: string;

  constructor(base: string, tag: string) {
    this.base = base;
    this.tag = tag;
  }

  /** Writes `count` v2 keys and `count` v3 keys, one after another. */
  async writeMany(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.writePair();
  }

  /** Keeps writing a pair every `intervalMs` until stop(). */
  startWriting(intervalMs: number): void {
    this.running = (async () => {
      while (!this.stopping) {
        const started = Date.now();
        await this.writePair();
        await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async writePair(): Promise<void> {
    const n = this.next++;
    const value = `${this.tag}-${n}`;
    const v2Key = `${PROTECTED_V2_DIR}/k${n}`;
    const v3Key = `${PROTECTED_V3_PREFIX}k${n}`;
    const [v2, v3] = await Promise.all([
      this.call(`/v2/keys${v2Key}`, "PUT", `value=${encodeURIComponent(value)}`, "application/x-www-form-urlencoded"),
      this.call("/v3/kv/put", "POST", JSON.stringify({ key: b64(v3Key), value: b64(value) }), "application/json"),
    ]);
    if (v2 && (v2.status === 200 || v2.status === 201) && (v2.json as { action?: string }).action === "set") this.acked.push({ api: "v2", key: v2Key, value });
    else this.unacknowledged++;
    if (v3 && v3.status === 200 && (v3.json as { header?: { revision?: string } }).header?.revision) this.acked.push({ api: "v3", key: v3Key, value });
    else this.unacknowledged++;
  }

  /** Every acknowledged write that does not read back with its value (empty: all there). */
  async verify(): Promise<string[]> {
    const v2 = await this.readUntilAnswered(`/v2/keys${PROTECTED_V2_DIR}?recursive=true&quorum=true`, "GET");
    const v3 = await this.readUntilAnswered("/v3/kv/range", "POST", JSON.stringify({ key: b64(PROTECTED_V3_PREFIX), range_end: b64(PROTECTED_V3_PREFIX.slice(0, -1) + "0") }));
    const found = new Map<string, string>();
    for (const n of (v2 as { node?: { nodes?: Array<{ key: string; value?: string }> } }).node?.nodes ?? []) found.set(`v2 ${n.key}`, n.value ?? "");
    for (const kv of (v3 as { kvs?: Array<{ key: string; value?: string }> }).kvs ?? []) found.set(`v3 ${unb64(kv.key)}`, unb64(kv.value ?? ""));
    const problems: string[] = [];
    for (const a of this.acked) {
      const got = found.get(`${a.api} ${a.key}`);
      if (got !== a.value) problems.push(`${a.api} ${a.key}: acknowledged ${JSON.stringify(a.value)}, read back ${got === undefined ? "nothing" : JSON.stringify(got)}`);
    }
    return problems;
  }

  /** A read retried until it answers 200 (the cluster may be electing right after the run), for at most a minute. */
  private async readUntilAnswered(path: string, method: string, body?: string): Promise<unknown> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await this.call(path, method, body, "application/json");
      if (res?.status === 200) return res.json;
      if (Date.now() > deadline) throw new Error(`${method} ${path} never answered 200 (last: ${res ? `${res.status} ${JSON.stringify(res.json)}` : "no answer"})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async call(path: string, method: string, body: string | undefined, contentType: string): Promise<{ status: number; json: unknown } | null> {
    try {
      const res = await fetch(this.base + path, { method, body, headers: { "Content-Type": contentType }, signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) });
      const text = await res.text();
      return { status: res.status, json: JSON.parse(text) };
    } catch {
      return null;
    }
  }
}
