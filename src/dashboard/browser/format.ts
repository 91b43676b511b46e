/** Small helpers shared by the panels: bytes and base64, building DOM safely, times (served as format.js). */
export const source = String.raw`
const encoder = new TextEncoder();
const strictUTF8 = new TextDecoder("utf-8", { fatal: true });

/** Text as the base64 of its UTF-8 bytes, as the v3 gateway takes keys and values. */
export function textToBase64(text) {
  return bytesToBase64(encoder.encode(text));
}

export function bytesToBase64(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function base64ToBytes(b64) {
  const binary = atob(b64 || "");
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Bytes for display: their text when they are UTF-8, otherwise escaped
 * (\xNN), flagged as binary so that the editor does not offer to save them
 * back as text.
 */
export function showBytes(b64) {
  const bytes = base64ToBytes(b64);
  try {
    return { text: strictUTF8.decode(bytes), binary: false };
  } catch (e) {
    let out = "";
    for (const b of bytes) out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "\\x" + b.toString(16).padStart(2, "0");
    return { text: out, binary: true };
  }
}

/**
 * The range_end that makes a v3 range cover every key starting with the
 * prefix: the prefix with its last byte below 0xff incremented, as etcd's
 * clientv3.GetPrefixRangeEnd; "\0" (every key) for an empty prefix.
 */
export function prefixRangeEnd(prefix) {
  const bytes = encoder.encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i]++;
      return bytesToBase64(end);
    }
  }
  return "AA==";
}

/** An element with attributes and children; text is always set as text, never parsed as HTML. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** At most n characters of a value, for a table cell. */
export function clip(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}

export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** "4s", "3m", "2h" ago. */
export function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return s + "s";
  if (s < 7200) return Math.round(s / 60) + "m";
  return Math.round(s / 3600) + "h";
}

export function bytesSize(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}
`;
