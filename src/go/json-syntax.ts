/**
 * The error texts of Go's encoding/json for malformed input, which etcd's
 * members API returns verbatim ("invalid character 'b' looking for beginning
 * of object key string"). A small validating scanner: it only runs after
 * JSON.parse has already refused the input.
 */

export function goJSONSyntaxError(text: string): string {
  let i = 0;
  const fail = (c: string, context: string) => `invalid character ${quoteChar(c)} ${context}`;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const END = "unexpected end of JSON input";

  // Each parser returns an error text, or null when the value was well-formed.
  const value = (): string | null => {
    ws();
    if (i >= text.length) return END;
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    for (const lit of ["true", "false", "null"]) {
      if (c === lit[0]) return literal(lit);
    }
    return fail(c, "looking for beginning of value");
  };
  const literal = (lit: string): string | null => {
    for (let k = 0; k < lit.length; k++, i++) {
      if (i >= text.length) return END;
      if (text[i] !== lit[k]) return fail(text[i], `in literal ${lit} (expecting ${quoteChar(lit[k])})`);
    }
    return null;
  };
  const string = (): string | null => {
    i++;
    while (i < text.length) {
      const c = text[i++];
      if (c === '"') return null;
      if (c < " ") return fail(c, "in string literal");
      if (c === "\\") {
        if (i >= text.length) return END;
        const e = text[i++];
        if (e === "u") {
          for (let k = 0; k < 4; k++, i++) {
            if (i >= text.length) return END;
            if (!/[0-9a-fA-F]/.test(text[i])) return fail(text[i], "in \\u hexadecimal character escape");
          }
        } else if (!'"\\/bfnrt'.includes(e)) return fail(e, "in string escape code");
      }
    }
    return END;
  };
  const digits = () => {
    while (i < text.length && text[i] >= "0" && text[i] <= "9") i++;
  };
  const number = (): string | null => {
    if (text[i] === "-") {
      i++;
      if (i >= text.length) return END;
      if (!(text[i] >= "0" && text[i] <= "9")) return fail(text[i], "in numeric literal");
    }
    if (text[i] === "0") i++;
    else digits();
    if (text[i] === ".") {
      i++;
      if (i >= text.length) return END;
      if (!(text[i] >= "0" && text[i] <= "9")) return fail(text[i], "after decimal point in numeric literal");
      digits();
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (i >= text.length) return END;
      if (!(text[i] >= "0" && text[i] <= "9")) return fail(text[i], "in exponent of numeric literal");
      digits();
    }
    return null;
  };
  const object = (): string | null => {
    i++;
    ws();
    if (text[i] === "}") {
      i++;
      return null;
    }
    for (;;) {
      ws();
      if (i >= text.length) return END;
      if (text[i] !== '"') return fail(text[i], "looking for beginning of object key string");
      const keyErr = string();
      if (keyErr) return keyErr;
      ws();
      if (i >= text.length) return END;
      if (text[i] !== ":") return fail(text[i], "after object key");
      i++;
      const err = value();
      if (err) return err;
      ws();
      if (i >= text.length) return END;
      if (text[i] === "}") {
        i++;
        return null;
      }
      if (text[i] !== ",") return fail(text[i], "after object key:value pair");
      i++;
    }
  };
  const array = (): string | null => {
    i++;
    ws();
    if (text[i] === "]") {
      i++;
      return null;
    }
    for (;;) {
      const err = value();
      if (err) return err;
      ws();
      if (i >= text.length) return END;
      if (text[i] === "]") {
        i++;
        return null;
      }
      if (text[i] !== ",") return fail(text[i], "after array element");
      i++;
    }
  };

  const err = value();
  if (err) return err;
  ws();
  if (i < text.length) return fail(text[i], "after top-level value");
  return "invalid JSON";
}

/** Go's quoteChar: the character in single quotes, with Go's escapes. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c).slice(1, -1);
  return `'${q}'`;
}
