/** Worker entry: the HTTP router and the Durable Object classes it drives. */
import { app } from "./app.ts";

export { Replica } from "./replica/replica.ts";
export { DiscoveryRateLimiter } from "./discovery/rate-limiter.ts";
export default app;
