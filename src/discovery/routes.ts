/**
 * The discovery service's routes, mounted at the root of the Worker beside
 * the etcd API: `/` (how to use it), `/new`, the token routes, and v3
 * discovery's registry under `/discovery/v3/`. Tokens are
 * exactly 32 lowercase hex characters, so no discovery route can shadow an
 * etcd path (/v2/..., /version, /health); anything else falls through to the
 * Worker's normal 404.
 */
import { Hono, type Context } from "hono";
import { config, ConfigError, type DiscoveryConfig, type Env } from "../env.ts";
import { plainError, requestURL } from "../http/go-http.ts";
import { landingPage } from "./landing.ts";
import { handleNew, type StubFor } from "./new-token.ts";
import { handleRegistry } from "./registry-routes.ts";
import { handleV3Registry } from "./v3-registry.ts";
import { TOKEN_PATTERN } from "./token.ts";

const TOKEN_PATH = new RegExp(`^/(${TOKEN_PATTERN})(|/|/[^/]+|/_config/size)$`);

export function discoveryRoutes(stubFor: StubFor): Hono<{ Bindings: Env }> {
  const r = new Hono<{ Bindings: Env }>();

  r.all("/", (c) => withConfig(c, (config) => landingPage(c.req.raw, config)));
  r.all("/new", (c) => withConfig(c, (config) => handleNew(c.req.raw, c.env, stubFor, config)));
  r.all("/discovery/v3/*", (c) => handleV3Registry(c.req.raw, c.env, stubFor, requestURL(c.req.raw).pathname.slice("/discovery/v3/".length)));

  // The token routes (`/<token>`, `/<token>/`, `/<token>/<member>`,
  // `/<token>/_config/size`) are matched here rather than as `/:token{...}`
  // routes: Hono's RegExpRouter cannot hold a patterned parameter at the root
  // beside the etcd routes, and the whole app would fall back to its slower
  // TrieRouter.
  r.all("/*", (c) => {
    const m = TOKEN_PATH.exec(requestURL(c.req.raw).pathname);
    if (!m) return c.notFound();
    return handleRegistry(c.req.raw, c.env, stubFor, m[1], m[2]);
  });
  return r;
}

function withConfig(c: Context<{ Bindings: Env }>, handle: (config: DiscoveryConfig) => Response | Promise<Response>) {
  let settings: DiscoveryConfig;
  try {
    settings = config(c.env).discovery;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return plainError(500, `the discovery service is misconfigured: ${err.message}`);
  }
  return handle(settings);
}
