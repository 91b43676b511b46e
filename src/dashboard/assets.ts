/**
 * The dashboard's static files, kept as strings in the Worker's bundle: no
 * build step and nothing to upload besides the Worker. The scripts are
 * plain browser ES modules that import each other by these names.
 */
import { source as auth } from "./browser/auth.ts";
import { source as charts } from "./browser/charts.ts";
import { source as confirm } from "./browser/confirm.ts";
import { source as discovery } from "./browser/discovery.ts";
import { source as feed } from "./browser/feed.ts";
import { source as format } from "./browser/format.ts";
import { source as http } from "./browser/http.ts";
import { source as keysV2 } from "./browser/keys-v2.ts";
import { source as keysV3 } from "./browser/keys-v3.ts";
import { source as main } from "./browser/main.ts";
import { source as members } from "./browser/members.ts";
import { source as signin } from "./browser/signin.ts";
import { source as style } from "./browser/style.ts";
import { source as throughput } from "./browser/throughput.ts";

const JS = "text/javascript; charset=utf-8";

export interface Asset {
  contentType: string;
  body: string;
}

/** By the name the page and the modules ask for, under /_dashboard/assets/. */
export const ASSETS: Record<string, Asset> = {
  "style.css": { contentType: "text/css; charset=utf-8", body: style },
  "main.js": { contentType: JS, body: main },
  "http.js": { contentType: JS, body: http },
  "auth.js": { contentType: JS, body: auth },
  "signin.js": { contentType: JS, body: signin },
  "format.js": { contentType: JS, body: format },
  "confirm.js": { contentType: JS, body: confirm },
  "members.js": { contentType: JS, body: members },
  "charts.js": { contentType: JS, body: charts },
  "throughput.js": { contentType: JS, body: throughput },
  "keys-v3.js": { contentType: JS, body: keysV3 },
  "keys-v2.js": { contentType: JS, body: keysV2 },
  "feed.js": { contentType: JS, body: feed },
  "discovery.js": { contentType: JS, body: discovery },
};
