// A real headless Chromium for the browser tests, driven by playwright-core.
// It is the system's browser (the Debian package `chromium`, which CI
// installs with apt), never one Playwright downloads: CHROMIUM names it, as a
// command looked up on PATH or as a path; `chromium` when unset.
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser } from "playwright-core";

/** The Chromium binary to run, or an error saying how to get one. */
export function chromiumPath(): string {
  const wanted = process.env.CHROMIUM || "chromium";
  const candidates = wanted.includes(path.sep) ? [path.resolve(wanted)] : (process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, wanted));
  const found = candidates.find(isExecutable);
  if (found) return found;
  throw new Error(`no Chromium: ${wanted} is not ${wanted.includes(path.sep) ? "an executable file" : "a command on PATH"}. Install the Debian package (apt-get install chromium) or set CHROMIUM to a Chromium binary.`);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true });
}
