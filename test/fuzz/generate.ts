// One fuzz request from a worker's PRNG: an endpoint family, its request
// (mostly close to valid), then the mutations on top.
import { discoveryRequest } from "./gen-discovery.ts";
import { v2Auth, v2Keys, v2Members, v2Misc } from "./gen-v2.ts";
import { v3Request } from "./gen-v3.ts";
import { mutate } from "./mutate.ts";
import { FUZZ_CLUSTERS } from "./protected.ts";
import type { FuzzRequest } from "./request.ts";
import type { Rng } from "./rng.ts";

export interface GenerateContext {
  /** Discovery tokens made before the run, so that some requests reach a real registry. */
  tokens: readonly string[];
}

export function generate(r: Rng, ctx: GenerateContext): FuzzRequest {
  // The default cluster mostly; a named cluster of the fuzzer's own sometimes.
  const prefix = r.chance(0.1) ? `/clusters/${r.pick(FUZZ_CLUSTERS)}` : "";
  const family = r.weighted<() => FuzzRequest>([
    [30, () => v2Keys(r, prefix)],
    [6, () => v2Auth(r, prefix)],
    [4, () => v2Members(r, prefix)],
    [6, () => v2Misc(r, prefix)],
    [42, () => v3Request(r, prefix)],
    [12, () => discoveryRequest(r, ctx.tokens)],
  ]);
  return mutate(r, family());
}
