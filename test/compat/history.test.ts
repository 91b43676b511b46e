// The 1000-event history window: 401 "event index cleared".
import { describe } from "vitest";
import { GET, PUT, awaitWatch, bulk, replaceInStrings, sequence, watch } from "./harness/compare";

describe("event history", () => {
  sequence(
    "history-cleared",
    [
      // 1010 writes (16 in flight at a time, to stay fast) push the first
      // ones out of the 1000-event window.
      bulk(1010, 16, (i) => ({ method: "PUT", path: `/v2/keys{p}/k${i}`, form: { value: String(i) } })),
      GET("/v2/keys{p}?wait=true&recursive=true&waitIndex={idx:1}", {
        note: "401, HTTP 400, cause [oldest/requested] compared as offsets",
      }),
      GET("/v2/keys{p}/k0?wait=true&waitIndex=1", { note: "waitIndex far in the past (absolute 1)" }),
      // Which key got which index depends on the concurrent bulk writes, so
      // the key number and value of this event are masked.
      watch("edge", "/v2/keys{p}?wait=true&recursive=true&waitIndex={idx:11}", "the oldest retained event"),
      awaitWatch("edge", 10_000, undefined, replaceInStrings(/\d+(?="$)/, "<n>")),
      GET("/v2/keys{p}?wait=true&recursive=true&waitIndex={idx:10}", { note: "just before the oldest: 401" }),
      PUT("/v2/keys{p}/after", { value: "x" }),
      GET("/v2/keys{p}?wait=true&recursive=true&waitIndex={idx:11}", { note: "window moved: now 401" }),
    ],
    120_000,
  );
});
