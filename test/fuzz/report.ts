// Tallies of a fuzz run: what was sent per endpoint family, with which
// statuses, which allowed 5xx answers came, what was skipped as unsafe, and
// each failure with what it takes to replay it.
import type { Verdict } from "./oracle.ts";
import type { FuzzRequest } from "./request.ts";
import type { Answer } from "./send.ts";

const SHOWN_FAILURES = 15;

export interface Failure {
  where: string;
  problem: string;
  req: FuzzRequest;
  answer: Answer;
}

export class Tally {
  sent = 0;
  blocked = 0;
  notSent = 0;
  readonly byFamily = new Map<string, Map<number, number>>();
  readonly allowed5xx = new Map<string, number>();
  readonly skipped = new Map<string, number>();
  readonly failures: Failure[] = [];

  record(where: string, req: FuzzRequest, a: Answer, v: Verdict): void {
    this.sent++;
    if (a.status === -1) this.notSent++;
    const statuses = this.byFamily.get(req.family) ?? new Map<number, number>();
    statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    this.byFamily.set(req.family, statuses);
    if (!v.ok) this.failures.push({ where, problem: v.problem, req, answer: a });
    else if (v.blocked) this.blocked++;
    else if (v.allowed5xx) this.allowed5xx.set(v.allowed5xx, (this.allowed5xx.get(v.allowed5xx) ?? 0) + 1);
  }

  skip(reason: string): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
  }

  print(seconds: number): void {
    console.log(`\nfuzz: ${this.sent} requests in ${seconds.toFixed(1)} s (${(this.sent / seconds).toFixed(0)}/s), ${this.blocked} blocking calls cut at the bound, ${this.notSent} that Node would not send`);
    for (const [family, statuses] of [...this.byFamily].sort()) {
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      const parts = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s === 0 ? "none" : s === -1 ? "unsent" : s}:${n}`);
      console.log(`  ${family.padEnd(26)} ${String(total).padStart(6)}  ${parts.join(" ")}`);
    }
    for (const [name, n] of this.allowed5xx) console.log(`  allowed 5xx: ${name}: ${n}`);
    for (const [reason, n] of this.skipped) console.log(`  skipped (${reason}): ${n}`);
  }

  printFailures(seed: number): void {
    const byProblem = new Map<string, number>();
    for (const f of this.failures) byProblem.set(f.problem, (byProblem.get(f.problem) ?? 0) + 1);
    console.log(`\nfuzz: ${this.failures.length} failing answers`);
    for (const [p, n] of byProblem) console.log(`  ${n} x ${p}`);
    for (const f of this.failures.slice(0, SHOWN_FAILURES)) {
      console.log(`\n  [${f.where}] ${f.problem}: replay with FUZZ_SEED=${seed} FUZZ_REPLAY=${f.where} npm run fuzz`);
      console.log(`    ${describe(f.req)}`);
      console.log(`    -> ${f.answer.status} ${clip(f.answer.body)}`);
    }
  }
}

export function describe(req: FuzzRequest): string {
  const body = req.body === undefined ? "" : typeof req.body === "string" ? req.body : Buffer.from(req.body).toString("latin1");
  return `${req.method} ${clip(req.path)} ${JSON.stringify(req.headers)} body(${body.length}): ${clip(body)}`;
}

function clip(s: string, n = 300): string {
  const one = JSON.stringify(s);
  return one.length > n ? `${one.slice(0, n)}…` : one;
}
