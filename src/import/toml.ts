// A small TOML writer for `sup import`: strings (escaped), numbers, booleans, arrays and inline
// tables, tables with comments. Only what sup.toml needs; the output is what Bun.TOML.parse and
// every TOML 1.0 reader take. Pure.

export type TomlValue = string | number | boolean | TomlValue[] | { [key: string]: TomlValue };

/** one line of a table: `key = value  # comment`, or a comment line of its own */
export type Row = { key: string; value: TomlValue; comment?: string } | { comment: string };

export interface Table {
  /** [a.b."c d"]: the path, unquoted; [] for the top level (no header) */
  path: string[];
  /** comment lines above the header (each without the leading "# ") */
  above?: string[];
  rows: Row[];
}

/** a basic string "…", every character TOML needs escaped escaped */
export function basic(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, "0").toUpperCase()}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * A string as TOML: a literal string '…' when that reads better (it holds `"` or `\`, which a
 * shell command often does, and nothing a literal string cannot hold), else a basic string.
 */
export function str(s: string): string {
  const literalOk = !/['\u0000-\u0008\u000a-\u001f\u007f]/.test(s);
  return literalOk && /["\\]/.test(s) ? `'${s}'` : basic(s);
}

/** a key: bare when it may be (A-Za-z0-9_-), else quoted */
export function key(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : basic(k);
}

export function value(v: TomlValue): string {
  if (typeof v === "string") return str(v);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (Number.isInteger(v)) return Number.isSafeInteger(v) ? String(v) : v.toExponential().replace("e+", "e");
    return String(v).replace("e+", "e");
  }
  if (Array.isArray(v)) return `[${v.map(value).join(", ")}]`;
  const entries = Object.entries(v);
  return entries.length ? `{ ${entries.map(([k, x]) => `${key(k)} = ${value(x)}`).join(", ")} }` : "{}";
}

/** a comment's text on one line (a newline would end the comment and break the file) */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "?");
}

function comment(text: string): string {
  return text === "" ? "#" : `# ${oneLine(text)}`;
}

/** the tables as one document; comments after values line up within a table */
export function render(tables: Table[], head: string[] = []): string {
  const parts: string[] = [];
  if (head.length) parts.push(head.map(comment).join("\n"));
  for (const t of tables) {
    const lines: string[] = [];
    for (const a of t.above ?? []) lines.push(comment(a));
    if (t.path.length) lines.push(`[${t.path.map(key).join(".")}]`);
    const assigns = t.rows.map((r) => ("key" in r ? `${key(r.key)} = ${value(r.value)}` : ""));
    const width = Math.min(40, Math.max(0, ...assigns.filter((a, i) => a.length <= 40 && (t.rows[i] as { comment?: string }).comment).map((a) => a.length)));
    t.rows.forEach((r, i) => {
      if (!("key" in r)) lines.push(comment(r.comment));
      else lines.push(r.comment ? `${assigns[i]!.padEnd(width)}  ${comment(r.comment)}` : assigns[i]!);
    });
    parts.push(lines.join("\n"));
  }
  return parts.join("\n\n") + "\n";
}

/** what a converter gives `sup import`: the sup.toml text, what it could not map, the names */
export interface Converted {
  toml: string;
  /** one line each, without the "warning: " prefix, in file order */
  warnings: string[];
  companions: string[];
}
