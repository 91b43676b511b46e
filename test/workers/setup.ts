/**
 * Replicas keep ticking (timers, alarms) after a test file's last test; stop
 * them all, with their storage, before the file's environment goes away.
 */
import { reset } from "cloudflare:test";
import { afterAll } from "vitest";

afterAll(async () => {
  await reset();
});
