/**
 * The discovery service's routes, mounted at the root of the Worker beside
 * the etcd API: `/` (how to use it), `/new`, and the token routes. Tokens are
 * exactly 32 lowercase hex characters, so no discovery route can shadow an
 * etcd path (/v2/..., /version, /health); anything else falls through to the
 * Worker's normal 404.
 */
import { Hono, type Context } from "hono";
import type { Env } from "../http/app.ts";
import { plainError } from "../http/go-http.ts";
import { ConfigError, discoveryConfig, type DiscoveryConfig } from "./config.ts";
import { landingPage } from "./landing.ts";
import { handleNew, type StubFor } from "./new-token.ts";
import { handleRegistry } from "./registry-routes.ts";
import { TOKEN_PATTERN } from "./token.ts";

export function discoveryRoutes(stubFor: StubFor): Hono<{ Bindings: Env }> {
  const r = new Hono<{ Bindings: Env }>();

  r.all("/", (c) => withConfig(c, (config) => landingPage(c.req.raw, config)));
  r.all("/new", (c) => withConfig(c, (config) => handleNew(c.req.raw, c.env, stubFor, config)));

  const token = (c: Context<{ Bindings: Env }>) => {
    const t = c.req.param("token") as string;
    const rest = new URL(c.req.url).pathname.slice(1 + t.length);
    return handleRegistry(c.req.raw, c.env, stubFor, t, rest);
  };
  const T = `/:token{${TOKEN_PATTERN}}`;
  r.all(T, token);
  r.all(`${T}/`, token);
  r.all(`${T}/:member`, token);
  r.all(`${T}/_config/size`, token);
  return r;
}

function withConfig(c: Context<{ Bindings: Env }>, handle: (config: DiscoveryConfig) => Response | Promise<Response>) {
  let config: DiscoveryConfig;
  try {
    config = discoveryConfig(c.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return plainError(500, `the discovery service is misconfigured: ${err.message}`);
  }
  return handle(config);
}
