/**
 * JSON as etcd (Go's encoding/json, built with Go 1.19) writes it: HTML
 * characters and U+2028/U+2029 escaped, \b and \f as \u0008 and \u000c.
 * Lone surrogates stand for bytes that were not valid UTF-8 (see decodeUTF8)
 * and are written as the escape \ufffd, as Go writes invalid bytes. Field
 * order is the object's insertion order, so callers build objects in etcd's
 * struct order.
 */

const ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
  "\\b": "\\u0008",
  "\\f": "\\u000c",
};

// Escaped backslashes are matched (and kept) as pairs so that a literal
// backslash followed by "b" is never mistaken for the \b escape.
const TOKEN = /\\\\|\\[bf]|\\ud[89a-f][0-9a-f]{2}|[<>&\u2028\u2029]/g;

export function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(TOKEN, (m) => {
    if (m === "\\\\") return m;
    if (m.startsWith("\\ud")) return "\\ufffd";
    return ESCAPES[m];
  });
}

/** json.NewEncoder(w).Encode: the same, plus a trailing newline. */
export function goJSONLine(value: unknown): string {
  return goJSON(value) + "\n";
}
