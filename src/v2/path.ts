/**
 * Key paths as etcd's v2 store sees them: always absolute, cleaned like Go's
 * path.Clean, so "/a//b/", "a/b" and "/a/./c/../b" all name "/a/b".
 */

/** Go's path.Clean(path.Join("/", p)). */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

/** Splits "/a/b/c" into ["a", "b", "c"]; the root has no components. */
export function components(cleaned: string): string[] {
  return cleaned === "/" ? [] : cleaned.slice(1).split("/");
}

/** Go's path.Join of two clean absolute parts. */
export function joinPath(dir: string, name: string): string {
  return dir === "/" ? "/" + name : dir + "/" + name;
}

/** The last component of a clean path ("" for the root). */
export function baseName(cleaned: string): string {
  return cleaned.slice(cleaned.lastIndexOf("/") + 1);
}

/** The parent of a clean path; the root is its own parent. */
export function parentPath(cleaned: string): string {
  const i = cleaned.lastIndexOf("/");
  return i <= 0 ? "/" : cleaned.slice(0, i);
}

/** A node is hidden when the last component of its own path starts with "_". */
export function isHiddenName(cleaned: string): boolean {
  return baseName(cleaned).startsWith("_");
}
