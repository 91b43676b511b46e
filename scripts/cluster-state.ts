// The line `npm start` prints about the default cluster once it has a
// leader: its members, who leads, in which term. A new cluster holds its
// first election when first used, so the first of these requests is also
// what starts it. Asked over the etcd API, as any client would; reads only.
//
// Run by Node's own type stripping (scripts/serve.ts imports it): erasable
// TypeScript only.

const POLL_MS = 500;
/** One request that gets no answer in this time is tried again at the next poll. */
const REQUEST_TIMEOUT_MS = 5000;

interface Member {
  id: string;
  name: string;
}

/**
 * Polls `origin` until the default cluster has a leader, for at most
 * `timeoutMs`, and says what it found; after that long without a leader, it
 * says so and where to look.
 */
export async function describeCluster(origin: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  for (;;) {
    try {
      const leader = await fetch(`${origin}/v2/members/leader`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      if (leader.ok) return await describe(origin, (await leader.json()) as Member);
      last = `${leader.status} ${(await leader.text()).trim()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + POLL_MS > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return `cluster default: no leader after ${Math.round(timeoutMs / 1000)} s (last answer: ${last}); see ${origin}/v2/members/leader`;
}

async function describe(origin: string, leader: Member): Promise<string> {
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const [members, status] = await Promise.all([
    fetch(`${origin}/v2/members`, { signal }).then((r) => r.json() as Promise<{ members: Member[] }>),
    fetch(`${origin}/v3/maintenance/status`, { method: "POST", body: "{}", signal }).then((r) => r.json() as Promise<{ raftTerm?: string }>),
  ]);
  const names = members.members.map((m) => m.name).sort((a, b) => a.localeCompare(b, "en", { numeric: true })).join(", ");
  return `cluster default: ${members.members.length} members (${names}), leader ${leader.name} (${leader.id}), term ${status.raftTerm ?? "?"}`;
}
