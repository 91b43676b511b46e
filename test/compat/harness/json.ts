// A tiny JSON parser that keeps the raw text of every string and number, so
// the suite can normalise values (indexes, times) while still comparing the
// exact bytes etcd writes: field order, Go's escaping (\u003c, \u0026, ...),
// whitespace and the trailing newline of json.Encoder.

export type JNode =
  | { t: "obj"; entries: Array<{ rawKey: string; key: string; value: JNode }> }
  | { t: "arr"; items: JNode[] }
  | { t: "str"; raw: string; value: string }
  | { t: "num"; raw: string }
  | { t: "lit"; raw: string }
  /** A placeholder written verbatim by serialize, e.g. base+3 or "<RFC3339Z>". */
  | { t: "sym"; text: string };

export interface Parsed {
  node: JNode;
  /** true when there is no whitespace between tokens (Go's encoding/json). */
  compact: boolean;
  /** Whitespace after the value, e.g. "\n" from json.Encoder. */
  trailing: string;
}

export function parseJson(text: string): Parsed | null {
  let i = 0;
  let compact = true;
  const ws = () => {
    const start = i;
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
    if (i > start) compact = false;
  };
  const fail = (): never => {
    throw new Error("bad json");
  };
  const str = (): { raw: string; value: string } => {
    const start = i;
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    const raw = text.slice(start, i);
    return { raw, value: JSON.parse(raw) as string };
  };
  const value = (): JNode => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: Array<{ rawKey: string; key: string; value: JNode }> = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { t: "obj", entries };
      }
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i] !== ":") fail();
        i++;
        const v = value();
        entries.push({ rawKey: k.raw, key: k.value, value: v });
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return { t: "obj", entries };
        }
        fail();
      }
    }
    if (c === "[") {
      i++;
      const items: JNode[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { t: "arr", items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return { t: "arr", items };
        }
        fail();
      }
    }
    if (c === '"') return { t: "str", ...str() };
    const num = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    num.lastIndex = i;
    const m = num.exec(text);
    if (m) {
      i += m[0].length;
      return { t: "num", raw: m[0] };
    }
    for (const lit of ["true", "false", "null"]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return { t: "lit", raw: lit };
      }
    }
    return fail();
  };
  try {
    if (text.length === 0 || !"{[".includes(text[0])) return null;
    const node = value();
    const rest = text.slice(i);
    if (rest.trim() !== "") return null;
    return { node, compact, trailing: rest };
  } catch {
    return null;
  }
}

export function serialize(n: JNode): string {
  switch (n.t) {
    case "obj":
      return `{${n.entries.map((e) => `${e.rawKey}:${serialize(e.value)}`).join(",")}}`;
    case "arr":
      return `[${n.items.map(serialize).join(",")}]`;
    case "str":
      return n.raw;
    case "num":
    case "lit":
      return n.raw;
    case "sym":
      return n.text;
  }
}

export function sym(text: string): JNode {
  return { t: "sym", text };
}

export function field(n: JNode, key: string): JNode | undefined {
  return n.t === "obj" ? n.entries.find((e) => e.key === key)?.value : undefined;
}

/** Visits every object entry, depth first; `fn` may replace entry values. */
export function walkEntries(n: JNode, fn: (e: { key: string; value: JNode }, parentKey: string | undefined) => void, parentKey?: string): void {
  if (n.t === "obj") {
    for (const e of n.entries) {
      fn(e, parentKey);
      walkEntries(e.value, fn, e.key);
    }
  } else if (n.t === "arr") {
    for (const it of n.items) walkEntries(it, fn, parentKey);
  }
}

/** Replaces every string value (not keys) through `fn`. */
export function mapStrings(n: JNode, fn: (raw: string) => string): void {
  if (n.t === "obj") {
    for (const e of n.entries) {
      if (e.value.t === "str") e.value = { t: "str", raw: fn(e.value.raw), value: e.value.value };
      else mapStrings(e.value, fn);
    }
  } else if (n.t === "arr") {
    n.items = n.items.map((it) => (it.t === "str" ? { t: "str", raw: fn(it.raw), value: it.value } : (mapStrings(it, fn), it)));
  }
}
