// `sup import supervisord.conf` (contract §13): a supervisord config, read as supervisord 4 reads
// it (RawConfigParser with inline comments, `%(name)s` expansions, shlex-split commands, the
// `environment=` lexer, [include] files), written as sup.toml with a warning for what has no
// sup equivalent. Pure: files come in through SupervisordSource.
import { dirname, isAbsolute, relative } from "node:path";
import { closest } from "../did-you-mean.ts";
import { NAME_RE } from "../config/schema.ts";
import { parseSignal } from "../config/signals.ts";
import { type Converted, render as renderToml, type Row, type Table, type TomlValue, value } from "./toml.ts";

export interface SupervisordSource {
  /** absolute path of the file */
  file: string;
  text: string;
  /** the folder the written sup.toml will live in: relative paths are written against it */
  outDir: string;
  /** the importer's environment: [include] patterns, and keys sup does not interpolate, are expanded from it */
  env: Readonly<Record<string, string | undefined>>;
  /** %(host_node_name)s */
  hostname: string;
  /** another file's text (an [include]d one), or null when it cannot be read */
  read(path: string): string | null;
  /** the files an absolute glob pattern matches, sorted */
  glob(pattern: string): string[];
  /** a file's name in messages */
  show(path: string): string;
}

interface At {
  file: string;
  line: number;
}
interface Opt extends At {
  key: string;
  value: string;
  /** %(here)s: the folder of the file the option was written in */
  here: string;
}
interface Section extends At {
  name: string;
  opts: Map<string, Opt>;
}
type Warn = (at: At | null, text: string) => void;

/** supervisord's defaults where they differ from sup's */
const SD_STARTRETRIES = 3;
const SD_MAXBYTES = 50 * 1024 * 1024; // "50MB": supervisord's units are powers of 1024
const SD_BACKUPS = 10;

// ---------- the file, as supervisord's UnhosedConfigParser (RawConfigParser) reads it

/**
 * Where an inline comment starts: `;` or `#` after whitespace (supervisord sets
 * inline_comment_prefixes), found the way configparser looks (prefix by prefix, round by
 * round); 0 for a comment line; null for none.
 */
function commentStart(line: string): number | null {
  let start = Infinity;
  let next = new Map<string, number>([
    [";", -1],
    ["#", -1],
  ]);
  while (start === Infinity && next.size) {
    const found = new Map<string, number>();
    for (const [prefix, from] of next) {
      const i = line.indexOf(prefix, from + 1);
      if (i === -1) continue;
      found.set(prefix, i);
      if (i === 0 || /\s/.test(line[i - 1]!)) start = Math.min(start, i);
    }
    next = found;
  }
  const t = line.trim();
  if (t.startsWith("#") || t.startsWith(";")) start = 0;
  return start === Infinity ? null : start;
}

/** parses one file into `into` (a section seen again gets its options merged, as strict=False does) */
function parseIni(text: string, file: string, into: Map<string, Section>, warn: Warn): void {
  const here = dirname(file);
  let cur: Section | null = null;
  let opt: { o: Opt; parts: string[] } | null = null;
  let indent = Infinity;
  text.split(/\r\n|\n|\r/).forEach((raw, i) => {
    const line = i + 1;
    const cs = commentStart(raw);
    const value = (cs === null ? raw : raw.slice(0, cs)).trim();
    if (!value) {
      // empty_lines_in_values: kept inside a value that goes on (trailing ones are dropped)
      if (cs === null && opt) opt.parts.push("");
      return;
    }
    const level = raw.search(/\S/);
    if (cur && opt && level > indent) {
      opt.parts.push(value);
      opt.o.value = opt.parts.join("\n").trimEnd();
      return;
    }
    indent = level;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      const name = header[1]!;
      cur = into.get(name) ?? { name, file, line, opts: new Map() };
      into.set(name, cur);
      opt = null;
      return;
    }
    if (!cur) {
      warn({ file, line }, `line ${line} comes before any [section]: supervisord refuses such a file; skipped`);
      return;
    }
    const m = /^(.*?)\s*([=:])\s*(.*)$/.exec(value);
    if (!m || !m[1]) {
      warn({ file, line }, `[${cur.name}] line ${line} is not "key = value": supervisord refuses such a file; skipped`);
      return;
    }
    const o: Opt = { key: m[1].trimEnd().toLowerCase(), value: m[3]!.trim(), file, line, here };
    cur.opts.set(o.key, o);
    opt = { o, parts: [o.value] };
  });
}

// ---------- %(name)s expansions

interface Fmt {
  name: string;
  flags: string;
  width: string;
  precision: string;
  conv: string;
  raw: string;
}
type Piece = { lit: string } | Fmt;

const FORMAT = /^\(([^)]*)\)([#0\- +]*)(\d*)(?:\.(\d*))?[hlL]?([diouxXeEfFgGcrsa])/;

/** a value split into literal text (with %% as %) and %(name)s formats; `lone`: a % that is neither */
function pieces(s: string): { parts: Piece[]; lone: boolean } {
  const parts: Piece[] = [];
  let lit = "";
  let lone = false;
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "%") {
      lit += s[i];
      continue;
    }
    if (s[i + 1] === "%") {
      lit += "%";
      i++;
      continue;
    }
    const m = FORMAT.exec(s.slice(i + 1));
    if (!m) {
      lone = true;
      lit += "%";
      continue;
    }
    if (lit) parts.push({ lit });
    lit = "";
    parts.push({ name: m[1]!, flags: m[2]!, width: m[3]!, precision: m[4] ?? "", conv: m[5]!, raw: `%${m[0]}` });
    i += m[0].length;
  }
  if (lit) parts.push({ lit });
  return { parts, lone };
}

/** Python's `%` formatting of one value (the flags, width and precision supervisord's files use) */
function pyFormat(v: string | number, f: Fmt): string {
  let s: string;
  const width = Number(f.width || 0);
  if ("diu".includes(f.conv)) {
    const n = Math.trunc(Number(v));
    s = String(Math.abs(n));
    if (f.precision) s = s.padStart(Number(f.precision), "0");
    const sign = n < 0 ? "-" : f.flags.includes("+") ? "+" : f.flags.includes(" ") ? " " : "";
    s = f.flags.includes("0") && !f.flags.includes("-") ? sign + s.padStart(width - sign.length, "0") : sign + s;
  } else {
    s = String(v);
    if (f.precision) s = s.slice(0, Number(f.precision));
  }
  return f.flags.includes("-") ? s.padEnd(width) : s.padStart(width);
}

/** what one [program:x] expands %(name)s with */
interface Scope {
  label: string;
  program: string | null;
  group: string | null;
  numprocs: number;
  start: number;
  /** one note of a kind per section */
  noted: Set<string>;
}

/**
 * How a value is written:
 * - argv: an array command element or an env value: sup expands `${VAR}` in it, `$` is `$$`;
 *   %(here)s is absolute (a program's argv is not resolved against sup.toml's folder)
 * - path: cwd and log paths: as argv, but %(here)s is relative to sup.toml's folder, `~` is $HOME
 * - plain: keys sup does not interpolate (user, umask): %(ENV_X)s is expanded now, from this
 *   environment, and said so
 * - literal: names for messages: everything expanded now, quietly; process_num is `num`
 */
type Mode = "argv" | "path" | "plain" | "literal";
const VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** a literal `$` where sup expands `${VAR}`: written `$$` */
const dollars = (s: string) => s.split("$").join("$$");

// ---------- lexers: shlex.split (commands) and shlex.shlex (environment=)

/** Python's shlex.split(s): POSIX rules, no comments; null with the reason when it cannot */
export function shlexSplit(s: string): string[] | { error: string } {
  const words: string[] = [];
  let tok = "";
  let inWord = false;
  let state: " " | "a" | "'" | '"' = " ";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (state === "'") {
      if (c === "'") state = "a";
      else tok += c;
    } else if (state === '"') {
      if (c === '"') state = "a";
      else if (c === "\\") {
        const n = s[++i];
        if (n === undefined) return { error: "no escaped character after \\" };
        tok += n === '"' || n === "\\" ? n : `\\${n}`;
      } else tok += c;
    } else if (/[ \t\r\n]/.test(c)) {
      if (inWord) words.push(tok);
      tok = "";
      inWord = false;
      state = " ";
    } else {
      inWord = true;
      state = "a";
      if (c === "'" || c === '"') state = c;
      else if (c === "\\") {
        const n = s[++i];
        if (n === undefined) return { error: "no escaped character after \\" };
        tok += n;
      } else tok += c;
    }
  }
  if (state === "'" || state === '"') return { error: "no closing quotation" };
  if (inWord) words.push(tok);
  return words;
}

const WORDCHARS = /[A-Za-z0-9_/.+\-():]/;

/** shlex.shlex(s) in non-POSIX mode with supervisord's extra wordchars, as dict_of_key_value_pairs lexes */
function envTokens(s: string): string[] | { error: string } {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/[ \t\r\n]/.test(c)) {
      i++;
    } else if (c === "#") {
      while (i < s.length && s[i] !== "\n") i++;
      i++;
    } else if (c === "'" || c === '"') {
      const end = s.indexOf(c, i + 1);
      if (end === -1) return { error: "no closing quotation" };
      out.push(s.slice(i, end + 1));
      i = end + 1;
    } else if (WORDCHARS.test(c)) {
      let tok = "";
      while (i < s.length) {
        const d = s[i]!;
        if (WORDCHARS.test(d) || d === "'" || d === '"') {
          tok += d;
          i++;
        } else if (d === "#") {
          // a comment inside a word: the rest of the line goes, the word goes on (shlex, non-POSIX)
          while (i < s.length && s[i] !== "\n") i++;
          i++;
        } else break;
      }
      out.push(tok);
    } else {
      out.push(c);
      i++;
    }
  }
  return out;
}

/** supervisord's dict_of_key_value_pairs: `KEY=val,KEY2="v,2"`; values lose their quotes */
export function envPairs(s: string): [string, string][] | { error: string } {
  const toks = envTokens(s);
  if (!Array.isArray(toks)) return toks;
  const pairs: [string, string][] = [];
  for (let i = 0; i < toks.length; i += 4) {
    const kv = toks.slice(i, i + 3);
    if (kv.length !== 3 || kv[1] !== "=") return { error: `unexpected end of key/value pairs near ${JSON.stringify(toks.slice(i, i + 3).join(" "))}` };
    pairs.push([kv[0]!, kv[2]!.replace(/^['"]+|['"]+$/g, "")]);
  }
  return pairs;
}

// ---------- values

const TRUE = ["yes", "true", "on", "1"];
const FALSE = ["no", "false", "off", "0"];

function bool(v: string): boolean | null {
  const s = v.toLowerCase();
  return TRUE.includes(s) ? true : FALSE.includes(s) ? false : null;
}

function int(v: string): number | null {
  return /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : null;
}

/** supervisord's byte_size: KB, MB, GB are powers of 1024 */
function byteSize(v: string): number | null {
  const m = /^\s*([+-]?\d+)\s*(kb|mb|gb)?\s*$/i.exec(v);
  if (!m) return null;
  const unit = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? "").toLowerCase() as "kb"] ?? 1;
  return Number(m[1]) * unit;
}

/** bytes as sup writes them: "50MiB" when whole, else the number */
function supSize(n: number): TomlValue {
  for (const [unit, f] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (n > 0 && n % f === 0) return `${n / f}${unit}`;
  return n;
}

const PROGRAM_KEYS = [
  "command",
  "process_name",
  "numprocs",
  "numprocs_start",
  "priority",
  "autostart",
  "startsecs",
  "startretries",
  "autorestart",
  "exitcodes",
  "stopsignal",
  "stopwaitsecs",
  "stopasgroup",
  "killasgroup",
  "user",
  "redirect_stderr",
  "stdout_logfile",
  "stdout_logfile_maxbytes",
  "stdout_logfile_backups",
  "stdout_capture_maxbytes",
  "stdout_events_enabled",
  "stdout_syslog",
  "stderr_logfile",
  "stderr_logfile_maxbytes",
  "stderr_logfile_backups",
  "stderr_capture_maxbytes",
  "stderr_events_enabled",
  "stderr_syslog",
  "environment",
  "directory",
  "umask",
  "serverurl",
];

/** words that a shell would read, which supervisord passes to the program as they are */
const SHELLISH = /^(\||\|\||&&|&|;|;;|>|>>|<|<<|2>&1|&>|>&2|1>&2)$|^[0-9]?>>?\S|^<\S|^`|\$\(|^\$\{?[A-Za-z_]/;

// ---------- the converter

interface Built {
  name: string;
  program: string;
  priority: number;
  tables: Table[];
}

export function fromSupervisord(src: SupervisordSource): Converted {
  const found: { at: At | null; text: string; order: number }[] = [];
  const fileOrder = new Map<string, number>();
  const warn: Warn = (at, text) => found.push({ at, text, order: found.length });
  const sections = new Map<string, Section>();
  fileOrder.set(src.file, 0);
  parseIni(src.text, src.file, sections, warn);
  followIncludes(src, sections, warn, fileOrder);

  const defaultsSection = sections.get("DEFAULT");
  const get = (sec: Section, key: string): Opt | undefined => sec.opts.get(key) ?? defaultsSection?.opts.get(key);
  const loc = (o: Opt | Section): At => ({ file: o.file, line: o.line });

  // ---- value rendering, with its notes

  const here = (o: Opt, mode: Mode) => (mode === "path" ? relative(src.outDir, o.here) || "." : o.here);
  const render = (o: Opt, mode: Mode, scope: Scope, num?: number, value = o.value): string | null => {
    const { parts, lone } = pieces(value);
    const esc = (s: string) => (mode === "argv" || mode === "path" ? dollars(s) : s);
    if (lone && mode !== "literal") warn(loc(o), `${scope.label} key '${o.key}': a lone "%" (supervisord wants "%%" and refuses the value); kept as "%"`);
    let out = "";
    for (const [i, p] of parts.entries()) {
      if ("lit" in p) {
        // supervisord expands ~ in directory and log paths
        if (i === 0 && mode === "path" && /^~(\/|$)/.test(p.lit)) out += "${HOME}" + esc(p.lit.slice(1));
        else out += esc(p.lit);
        continue;
      }
      const r = piece(o, p, mode, scope, num);
      if (r === null) return null;
      out += r;
    }
    return out;
  };
  const piece = (o: Opt, p: Fmt, mode: Mode, scope: Scope, num?: number): string | null => {
    const esc = (s: string) => (mode === "argv" || mode === "path" ? dollars(s) : s);
    const quiet = mode === "literal";
    if (p.name.startsWith("ENV_")) {
      const name = p.name.slice(4);
      if ((mode === "argv" || mode === "path") && VAR.test(name)) return "${" + name + "}";
      const v = src.env[name];
      if (v === undefined) {
        if (!quiet) warn(loc(o), `${scope.label} key '${o.key}': ${p.raw} is not set in this environment and sup cannot expand it in '${o.key}': skipped`);
        return null;
      }
      if (!quiet) warn(loc(o), `${scope.label} key '${o.key}': ${p.raw} is written as its value here (${JSON.stringify(v)}): sup does not expand variables in this key`);
      return esc(pyFormat(v, p));
    }
    switch (p.name) {
      case "program_name":
        if (scope.program !== null) return esc(pyFormat(scope.program, p));
        break;
      case "group_name":
        if (scope.group !== null) return esc(pyFormat(scope.group, p));
        break;
      case "numprocs":
        if (scope.program !== null) return pyFormat(scope.numprocs, p);
        break;
      case "host_node_name":
        if (!quiet && !scope.noted.has("host")) {
          scope.noted.add("host");
          warn(loc(o), `${scope.label} key '${o.key}': ${p.raw} is written as this machine's name, ${src.hostname}`);
        }
        return esc(pyFormat(src.hostname, p));
      case "here":
        return esc(pyFormat(here(o, mode), p));
      case "process_num":
        if (scope.program === null) break;
        if (num !== undefined) return pyFormat(num, p);
        if (scope.numprocs <= 1) return pyFormat(scope.start, p);
        if (mode === "plain") {
          warn(loc(o), `${scope.label} key '${o.key}': ${p.raw} differs per instance, and sup does not expand variables in '${o.key}': skipped`);
          return null;
        }
        if (!scope.noted.has("process_num")) {
          scope.noted.add("process_num");
          const first = pyFormat(scope.start, p);
          const last = pyFormat(scope.start + scope.numprocs - 1, p);
          warn(loc(o), `${scope.label} key '${o.key}': ${p.raw} becomes \${SUP_INSTANCE} (here and in every key), which counts 1 … ${scope.numprocs} (supervisord: ${first} … ${last})`);
        }
        return "${SUP_INSTANCE}";
    }
    if (!quiet) warn(loc(o), `${scope.label} key '${o.key}': ${p.raw} is not a name supervisord expands here (it refuses the value): skipped`);
    return null;
  };
  /** a path key: written as sup reads it; a relative one is said to resolve elsewhere now */
  const pathValue = (o: Opt, scope: Scope): string | null => {
    const v = render(o, "path", scope);
    if (v !== null && !/^(\/|~|%\(here\)|%\(ENV_)/.test(o.value)) {
      warn(loc(o), `${scope.label} key '${o.key}': ${JSON.stringify(o.value)} is relative: sup resolves it against sup.toml's folder (supervisord: against its own working folder)`);
    }
    return v;
  };

  // ---- the environment= value: lexed as supervisord does, each %(...)s kept for sup

  const environment = (o: Opt, scope: Scope): Record<string, string> | null => {
    // the %(...)s are stand-ins of word characters while lexing: supervisord expands first,
    // and what they expand to is one word inside quotes or out
    const { parts } = pieces(o.value);
    const fmts: Fmt[] = [];
    const mark = (i: number) => `Zz${i}SupImportMark`;
    let text = "";
    for (const p of parts) {
      if ("lit" in p) text += p.lit;
      else {
        text += mark(fmts.length);
        fmts.push(p);
      }
    }
    const pairs = envPairs(text);
    if (!Array.isArray(pairs)) {
      warn(loc(o), `${scope.label} key 'environment': supervisord cannot read it either (${pairs.error}): skipped`);
      return null;
    }
    const env: Record<string, string> = {};
    for (const [k, v] of pairs) {
      let out = "";
      let ok = true;
      for (const bit of v.split(/(Zz\d+SupImportMark)/)) {
        const m = /^Zz(\d+)SupImportMark$/.exec(bit);
        if (!m) out += dollars(bit);
        else {
          const r = piece(o, fmts[Number(m[1])]!, "argv", scope);
          if (r === null) ok = false;
          else out += r;
        }
      }
      const key = k.replace(/Zz(\d+)SupImportMark/g, (_, n: string) => fmts[Number(n)]!.raw);
      if (key.includes("%(")) {
        warn(loc(o), `${scope.label} key 'environment': the name ${key} holds an expansion; sup takes names as written: skipped`);
        continue;
      }
      if (ok) env[key] = out;
    }
    return env;
  };

  // ---- [program:x]

  const programs = new Map<string, Section>();
  for (const s of sections.values()) if (s.name.startsWith("program:")) programs.set(s.name.slice(8).trim(), s);

  const groupOf = new Map<string, { name: string; priority: number; section: Section }>();
  const groups: { name: string; priority: number; section: Section; members: string[] }[] = [];
  for (const s of sections.values()) {
    if (!s.name.startsWith("group:")) continue;
    const name = s.name.slice(6).trim();
    const pr = s.opts.get("priority");
    const priority = pr ? (int(pr.value) ?? 999) : 999;
    if (pr && int(pr.value) === null) warn(loc(pr), `[${s.name}] key 'priority': not a whole number (${JSON.stringify(pr.value)}): taken as 999`);
    const programsOpt = s.opts.get("programs");
    const listed = programsOpt ? programsOpt.value.split(",").map((x) => x.trim()).filter(Boolean) : [];
    const members: string[] = [];
    for (const p of listed) {
      if (!programs.has(p)) {
        warn(programsOpt ? loc(programsOpt) : loc(s), `[${s.name}] names ${p}, which has no [program:${p}] (supervisord refuses this): left out`);
        continue;
      }
      if (groupOf.has(p)) {
        warn(programsOpt ? loc(programsOpt) : loc(s), `[${s.name}] names ${p}, already in [group:${groupOf.get(p)!.name}]: kept there`);
        continue;
      }
      groupOf.set(p, { name, priority, section: s });
      members.push(p);
    }
    for (const o of s.opts.values()) if (o.key !== "programs" && o.key !== "priority") warn(loc(o), `[${s.name}] key '${o.key}' is not a supervisord group key: ignored`);
    groups.push({ name, priority, section: s, members });
    warn(loc(s), `[${s.name}] sup has no groups: ${members.length ? `${members.join(", ")} ${members.length === 1 ? "is" : "are"} imported as companions of their own (act on them together: sup ctl restart ${members.join(" ")})` : "it names no program"}`);
  }

  const usedNames = new Set<string>();
  // the instance names NAME.1 … NAME.N of a program with numprocs are taken too: a
  // [program:x.1] beside [program:x] numprocs = 2 must not become a second x.1
  for (const [program, sec] of programs) {
    const n = Math.min(1000, Number.parseInt(get(sec, "numprocs")?.value ?? "1", 10) || 1);
    for (let i = 1; n > 1 && i <= n; i++) usedNames.add(`${program.replace(/[^A-Za-z0-9_.-]/g, "_")}.${i}`);
  }
  const companionName = (program: string, sec: Section): string => {
    let name = program.replace(/[^A-Za-z0-9_.-]/g, "_");
    if (!NAME_RE.test(name)) name = `_${name}`;
    if (name === "all") name = "all_";
    let unique = name;
    for (let n = 2; usedNames.has(unique); n++) unique = `${name}_${n}`;
    usedNames.add(unique);
    if (unique !== program) warn(loc(sec), `[${sec.name}] is named ${unique} in sup (names are letters, digits, "-", "_", "."; "all" is reserved)`);
    return unique;
  };

  const built: Built[] = [];
  for (const [program, sec] of programs) {
    const b = convertProgram(program, sec);
    if (b) built.push(b);
  }

  function convertProgram(program: string, sec: Section): Built | null {
    const label = `[${sec.name}]`;
    const g = groupOf.get(program);
    const opt = (k: string) => get(sec, k);
    const rows: Row[] = [];
    const extra: Table[] = [];
    const handled = new Set<string>();
    const take = (k: string) => {
      handled.add(k);
      return opt(k);
    };
    const intOf = (k: string): number | undefined => {
      const o = take(k);
      if (!o) return undefined;
      const n = int(o.value);
      if (n === null) warn(loc(o), `${label} key '${k}': not a whole number (${JSON.stringify(o.value)}; supervisord refuses it): skipped`);
      return n ?? undefined;
    };
    const boolOf = (k: string): boolean | undefined => {
      const o = take(k);
      if (!o) return undefined;
      const b = bool(o.value);
      if (b === null) warn(loc(o), `${label} key '${k}': not true or false (${JSON.stringify(o.value)}; supervisord refuses it): skipped`);
      return b ?? undefined;
    };

    let numprocs = intOf("numprocs") ?? 1;
    if (numprocs < 1) {
      warn(loc(opt("numprocs") ?? sec), `${label} key 'numprocs': ${numprocs} runs no process at all: the program is left out`);
      return null;
    }
    if (numprocs > 1000) {
      warn(loc(opt("numprocs")!), `${label} key 'numprocs': sup runs at most 1000 instances: written as 1000`);
      numprocs = 1000;
    }
    const start = intOf("numprocs_start") ?? 0;
    const scope: Scope = { label, program, group: g?.name ?? program, numprocs, start, noted: new Set() };

    const cmdOpt = take("command");
    if (!cmdOpt) {
      warn(loc(sec), `${label} has no command (supervisord refuses it): the program is left out`);
      return null;
    }
    const words = shlexSplit(cmdOpt.value);
    if (!Array.isArray(words) || words.length === 0) {
      warn(loc(cmdOpt), `${label} key 'command': supervisord cannot split it either (${Array.isArray(words) ? "it is empty" : words.error}; a " ;" or " #" starts a comment): the program is left out`);
      return null;
    }
    const argv: string[] = [];
    for (const w of words) {
      const r = render(cmdOpt, "argv", scope, undefined, w);
      if (r === null) {
        warn(loc(cmdOpt), `${label} key 'command' cannot be written: the program is left out`);
        return null;
      }
      argv.push(r);
    }
    const shellish = words.filter((w) => SHELLISH.test(w));
    if (shellish.length) {
      warn(
        loc(cmdOpt),
        `${label} key 'command': ${shellish.map((w) => JSON.stringify(w)).join(", ")} reach the program as plain arguments, as under supervisord (it runs no shell); for a shell write command = ["sh", "-c", "…"]`,
      );
    }
    const name = companionName(program, sec);
    rows.push({ key: "command", value: argv });

    const dir = take("directory");
    if (dir) {
      const v = pathValue(dir, scope);
      if (v !== null) rows.push({ key: "cwd", value: v });
    }

    const envOpt = take("environment");
    if (envOpt) {
      const env = environment(envOpt, scope);
      if (env && Object.keys(env).length) {
        // a short table inline; a longer one as [companions.NAME.env], one variable a line
        if (Object.keys(env).length <= 4 && value(env).length <= 80) rows.push({ key: "env", value: env });
        else extra.push({ path: ["companions", name, "env"], rows: Object.entries(env).map(([k, v]) => ({ key: k, value: v })) });
      }
    }

    const user = take("user");
    if (user) {
      const v = render(user, "plain", scope);
      if (v !== null) {
        if (/^\d+$/.test(v)) rows.push({ key: "user", value: Number(v) });
        else if (/^[A-Za-z0-9_.][A-Za-z0-9_.$-]*$/.test(v)) rows.push({ key: "user", value: v });
        else warn(loc(user), `${label} key 'user': ${JSON.stringify(v)} is not a user name or id: skipped`);
      }
    }
    const umask = take("umask");
    if (umask) {
      const v = render(umask, "plain", scope);
      const n = v === null ? NaN : /^\s*(0o)?[0-7]+\s*$/i.test(v) ? parseInt(v.trim().replace(/^0o/i, ""), 8) : NaN;
      if (Number.isInteger(n) && n <= 0o777) rows.push({ key: "umask", value: n.toString(8).padStart(3, "0") });
      else if (v !== null) warn(loc(umask), `${label} key 'umask': ${JSON.stringify(v)} is not an octal umask like 022: skipped`);
    }

    const autostart = boolOf("autostart");
    if (autostart !== undefined) rows.push({ key: "autostart", value: autostart });
    const startsecs = intOf("startsecs");
    if (startsecs !== undefined) rows.push({ key: "startsecs", value: Math.max(0, startsecs) });

    const ar = take("autorestart");
    if (ar) {
      const v = ar.value.toLowerCase();
      const b = bool(v);
      if (b === true) rows.push({ key: "restart", value: "always" });
      else if (b === false) rows.push({ key: "restart", value: "never", comment: "supervisord still retried a start that failed within startsecs; sup does not" });
      else if (v === "unexpected") rows.push({ key: "restart", value: "on-failure" });
      else warn(loc(ar), `${label} key 'autorestart': ${JSON.stringify(ar.value)} is not true, false or unexpected (supervisord refuses it): skipped`);
    }
    const ec = take("exitcodes");
    if (ec) {
      const codes = ec.value.trim() === "" ? [] : ec.value.split(",").map((x) => int(x));
      if (codes.every((c) => c !== null && c >= 0 && c <= 255)) rows.push({ key: "success_exit_codes", value: codes as number[] });
      else warn(loc(ec), `${label} key 'exitcodes': ${JSON.stringify(ec.value)} is not a list of exit codes 0-255: skipped`);
    }
    const retries = intOf("startretries");
    if (retries !== undefined) rows.push({ key: "max_restarts", value: Math.max(0, retries) + 1, comment: `startretries = ${retries}: FATAL after ${Math.max(0, retries) + 1} failed runs in a row (see the note above)` });

    const sig = take("stopsignal");
    if (sig) {
      const name = parseSignal(sig.value);
      if (name) rows.push({ key: "stop_signal", value: name });
      else warn(loc(sig), `${label} key 'stopsignal': ${JSON.stringify(sig.value)} is not a signal: skipped`);
    }
    const wait = intOf("stopwaitsecs");
    if (wait !== undefined) rows.push({ key: "stop_timeout", value: Math.max(0, wait) });
    const sag = boolOf("stopasgroup");
    const kag = boolOf("killasgroup");
    if (sag !== undefined || kag !== undefined) {
      const said = [sag !== undefined ? `stopasgroup = ${sag}` : "", kag !== undefined ? `killasgroup = ${kag}` : ""].filter(Boolean).join(", ");
      rows.push({ comment: `${said}: sup always signals the whole process tree` });
    }

    // numprocs and process_name
    const pn = take("process_name");
    const pnValue = pn ?? { key: "process_name", value: "%(program_name)s", file: sec.file, line: sec.line, here: dirname(sec.file) };
    if (numprocs > 1) {
      rows.push({ key: "instances", value: numprocs });
      if (!pnValue.value.includes("%(process_num)")) warn(loc(pnValue), `${label} key 'process_name' lacks %(process_num) with numprocs = ${numprocs} (supervisord refuses this)`);
      const first = render(pnValue, "literal", scope, start);
      const last = render(pnValue, "literal", scope, start + numprocs - 1);
      const was = first !== null && last !== null ? ` (supervisord: ${first} … ${last})` : "";
      warn(loc(opt("numprocs")!), `${label} key 'numprocs': ${numprocs} instances, named ${name}.1 … ${name}.${numprocs}${was}`);
    } else if (pn) {
      const v = render(pn, "literal", scope, start);
      if (v !== null && v !== program) warn(loc(pn), `${label} key 'process_name': the process was named ${v}; the companion is named after the program, ${name}`);
    }

    logs(sec, label, scope, rows, take, warn);

    const pr = take("priority");
    const priority = pr ? (int(pr.value) ?? 999) : 999;
    if (pr && int(pr.value) === null) warn(loc(pr), `${label} key 'priority': not a whole number (${JSON.stringify(pr.value)}): taken as 999`);

    // what has no equivalent, or is not a supervisord key at all
    const only = (k: string, isDefault: (v: string) => boolean, why: string) => {
      const o = take(k);
      if (o && !isDefault(o.value)) warn(loc(o), `${label} key '${k}' has no sup equivalent: ${why}`);
    };
    for (const s of ["stdout", "stderr"]) {
      only(`${s}_capture_maxbytes`, (v) => byteSize(v) === 0, "no process communication events (sup ctl events streams state changes)");
      only(`${s}_events_enabled`, (v) => bool(v) === false, "no log events (sup ctl logs -f follows the output)");
      only(`${s}_syslog`, (v) => bool(v) === false, "no syslog output (the output is captured: sup ctl logs, or log_file)");
    }
    only("serverurl", (v) => v.trim().toUpperCase() === "AUTO", "no XML-RPC server (sup ctl talks to sup's socket; SUPERVISOR_SERVER_URL is not set)");
    for (const o of sec.opts.values()) {
      if (handled.has(o.key) || PROGRAM_KEYS.includes(o.key)) continue;
      const near = closest(o.key, PROGRAM_KEYS);
      warn(loc(o), `${label} key '${o.key}' has no sup equivalent: not a supervisord program key${near ? ` (did you mean '${near}'?)` : ""}, ignored by supervisord too`);
    }

    const above: string[] = [];
    if (pr) above.push(`supervisord priority = ${priority}`);
    return { name, program, priority, tables: [{ path: ["companions", name], above, rows }, ...extra] };
  }

  /** stdout_logfile / stderr_logfile / redirect_stderr and rotation -> stdout, stderr, log_file */
  function logs(sec: Section, label: string, scope: Scope, rows: Row[], take: (k: string) => Opt | undefined, warn: Warn): void {
    type Target = { kind: "auto" | "none" | "syslog" } | { kind: "path"; path: string; o: Opt };
    const target = (k: string): Target => {
      const o = take(k);
      if (!o) return { kind: "auto" };
      const v = o.value.toLowerCase();
      if (v === "none" || v === "off") return { kind: "none" };
      if (v === "auto") return { kind: "auto" };
      if (v === "syslog") return { kind: "syslog" };
      const path = pathValue(o, scope);
      return path === null ? { kind: "auto" } : { kind: "path", path, o };
    };
    const rotation = (s: string) => {
      const mo = take(`${s}_logfile_maxbytes`);
      const bo = take(`${s}_logfile_backups`);
      let max = mo ? byteSize(mo.value) : SD_MAXBYTES;
      if (mo && (max === null || max < 0)) {
        warn(loc(mo), `${label} key '${mo.key}': ${JSON.stringify(mo.value)} is not a size like 50MB: taken as 50MB`);
        max = SD_MAXBYTES;
      }
      let backups = bo ? int(bo.value) : SD_BACKUPS;
      if (bo && (backups === null || backups < 0)) {
        warn(loc(bo), `${label} key '${bo.key}': ${JSON.stringify(bo.value)} is not a whole number: taken as 10`);
        backups = SD_BACKUPS;
      }
      if (backups! > 1000) {
        warn(loc(bo!), `${label} key '${bo!.key}': sup keeps at most 1000 backups: written as 1000`);
        backups = 1000;
      }
      return { max: max!, backups: backups!, mo, bo };
    };
    const redirect = take("redirect_stderr");
    const redirected = redirect ? bool(redirect.value) : false;
    if (redirect && redirected === null) warn(loc(redirect), `${label} key 'redirect_stderr': not true or false (${JSON.stringify(redirect.value)}): taken as false`);
    const so = target("stdout_logfile");
    const soRot = rotation("stdout");
    let se: Target | { kind: "redirect" };
    if (redirected) {
      const ignored = take("stderr_logfile");
      take("stderr_logfile_maxbytes");
      take("stderr_logfile_backups");
      if (ignored && !["auto", "none", "off"].includes(ignored.value.toLowerCase())) {
        warn(loc(ignored), `${label} key 'stderr_logfile': ignored, as supervisord ignores it: redirect_stderr = true sends stderr where stdout goes`);
      }
      se = { kind: "redirect" };
    } else se = target("stderr_logfile");
    const seRot = redirected ? soRot : rotation("stderr");

    let logFile: { path: string; rot: typeof soRot; stream: "stdout" | "stderr" } | null = null;
    let stdout: string | undefined;
    let stderr: string | undefined;
    const syslog = (s: string) => warn(loc(take(`${s}_logfile`)!), `${label} key '${s}_logfile' = syslog has no sup equivalent: the output is captured (sup ctl logs, log_file)`);
    if (so.kind === "none") stdout = "null";
    else if (so.kind === "syslog") syslog("stdout");
    else if (so.kind === "path") {
      if (so.path === "/dev/stdout" || so.path === "/dev/fd/1") stdout = "inherit";
      else if (so.path.startsWith("/dev/") || soRot.max === 0) stdout = so.path;
      else logFile = { path: so.path, rot: soRot, stream: "stdout" };
    }
    if (se.kind === "redirect") stderr = "stdout";
    else if (se.kind === "none") stderr = "null";
    else if (se.kind === "syslog") syslog("stderr");
    else if (se.kind === "path") {
      if (se.path === "/dev/stderr" || se.path === "/dev/fd/2") stderr = "inherit";
      else if (se.path === "/dev/stdout" || se.path === "/dev/fd/1") {
        // supervisord's own stdout: where stdout goes too when that is sup's stdout; else captured,
        // and captured lines reach sup's stdout as `name | line`
        if (stdout === "inherit") stderr = "stdout";
        else warn(loc(se.o), `${label} key 'stderr_logfile' = ${se.path}: stderr is captured and reaches sup's stdout as "NAME | line" (sup ctl logs too)`);
      }
      else if (se.path.startsWith("/dev/") || seRot.max === 0) stderr = se.path;
      else if (logFile === null) logFile = { path: se.path, rot: seRot, stream: "stderr" };
      else if (logFile.path === se.path) stderr = "stdout";
      else {
        stderr = se.path;
        warn(
          loc(seRot.mo ?? se.o),
          `${label} key 'stderr_logfile_maxbytes': sup rotates one file per companion (log_file, here stdout's): stderr is written to ${se.path} directly and not rotated (logrotate with copytruncate can)`,
        );
      }
    }
    if (logFile) {
      const other = logFile.stream === "stdout" ? se : so;
      if (other.kind === "auto" || other.kind === "syslog") {
        const o = logFile.stream === "stdout" ? "stderr" : "stdout";
        warn(
          loc(take(`${logFile.stream}_logfile`)!),
          `${label} key '${logFile.stream}_logfile': ${o} (supervisord: ${other.kind === "auto" ? "AUTO" : "syslog"}, a file apart) is captured too, so it also goes to ${logFile.path}; set ${o}_logfile to keep it apart`,
        );
      }
      if (scope.numprocs > 1 && !logFile.path.includes("${SUP_INSTANCE}")) {
        warn(loc(take(`${logFile.stream}_logfile`)!), `${label} key '${logFile.stream}_logfile': all ${scope.numprocs} instances write ${logFile.path}; put %(process_num)d in the name to keep them apart`);
      }
    }
    if (stdout !== undefined) rows.push({ key: "stdout", value: stdout });
    if (stderr !== undefined) rows.push({ key: "stderr", value: stderr, ...(stderr === "stdout" && redirected ? { comment: "redirect_stderr = true" } : {}) });
    if (logFile) {
      rows.push({ key: "log_file", value: logFile.path, comment: `${logFile.stream}_logfile, rotated as supervisord did` });
      rows.push({ key: "log_max_bytes", value: supSize(logFile.rot.max) });
      rows.push({ key: "log_backups", value: logFile.rot.backups });
    }
  }

  // ---- the other sections

  const defaultsRows: Row[] = [
    { key: "restart", value: "on-failure", comment: "supervisord's default autorestart = unexpected" },
    { key: "max_restarts", value: SD_STARTRETRIES + 1, comment: `its default startretries = ${SD_STARTRETRIES}: FATAL after ${SD_STARTRETRIES + 1} failed runs (0: never give up)` },
  ];
  const SD_OWN = ["logfile", "logfile_maxbytes", "logfile_backups", "loglevel", "pidfile", "nodaemon", "silent", "nocleanup", "identifier", "strip_ansi"];
  for (const s of sections.values()) {
    const at = loc(s);
    const keys = [...s.opts.keys()];
    const list = (ks: string[]) => ks.map((k) => `'${k}'`).join(", ");
    if (s.name === "supervisord") {
      const scope: Scope = { label: "[supervisord]", program: null, group: null, numprocs: 1, start: 0, noted: new Set() };
      const own = keys.filter((k) => SD_OWN.includes(k));
      if (own.length) warn(at, `[supervisord] ${own.length === 1 ? "key" : "keys"} ${list(own)} ${own.length === 1 ? "has" : "have"} no sup equivalent: sup runs in the foreground, logs to stderr and writes no pid file`);
      for (const k of keys) {
        const o = s.opts.get(k)!;
        if (SD_OWN.includes(k)) continue;
        if (k === "environment") {
          const env = environment(o, scope);
          if (env && Object.keys(env).length) defaultsRows.push({ key: "env", value: env, comment: "[supervisord] environment" });
        } else if (k === "umask") {
          const n = /^\s*(0o)?[0-7]+\s*$/i.test(o.value) ? parseInt(o.value.trim().replace(/^0o/i, ""), 8) : NaN;
          if (Number.isInteger(n) && n <= 0o777) defaultsRows.push({ key: "umask", value: n.toString(8).padStart(3, "0"), comment: "[supervisord] umask" });
          else warn(loc(o), `[supervisord] key 'umask': ${JSON.stringify(o.value)} is not an octal umask like 022: skipped`);
        } else if (k === "user") warn(loc(o), `[supervisord] key 'user' has no sup equivalent: run sup itself as ${o.value} (or set user per companion; sup must be root for that)`);
        else if (k === "directory") warn(loc(o), `[supervisord] key 'directory' has no sup equivalent: sup does not change folder; companions run in their cwd (default: sup.toml's folder)`);
        else if (k === "minfds" || k === "minprocs") {
          const lim = k === "minfds" ? "nofile" : "nproc";
          warn(loc(o), `[supervisord] key '${k}' has no sup equivalent: sup does not raise its own limits; [defaults] limits = { ${lim} = ${o.value} } sets the companions'`);
        } else if (k === "childlogdir") warn(loc(o), `[supervisord] key 'childlogdir' has no sup equivalent: AUTO output is kept in memory (sup ctl logs); log_file writes it to disk`);
        else warn(loc(o), `[supervisord] key '${k}' has no sup equivalent: not a supervisord key, ignored by supervisord too`);
      }
    } else if (s.name === "unix_http_server") {
      warn(at, `[unix_http_server] has no sup equivalent (${list(keys)} not imported): sup's control socket is [sup] socket (default sup.sock beside sup.toml, mode 0600; socket_group for 0660), spoken by sup ctl`);
    } else if (s.name === "inet_http_server") {
      warn(at, `[inet_http_server] has no sup equivalent (${list(keys)} not imported): sup has no HTTP control server; [sup] metrics serves GET /metrics`);
    } else if (s.name === "supervisorctl") {
      warn(at, `[supervisorctl] has no sup equivalent (${list(keys)} not imported): sup ctl finds the socket through sup.toml (-c) or -s`);
    } else if (s.name.startsWith("rpcinterface:") || s.name.startsWith("ctlplugin:")) {
      warn(at, `[${s.name}] has no sup equivalent: sup has no XML-RPC interface and no plugins`);
    } else if (s.name.startsWith("eventlistener:")) {
      warn(at, `[${s.name}] has no sup equivalent: event listeners are not imported; sup ctl events --json streams every state change`);
    } else if (s.name.startsWith("fcgi-program:")) {
      warn(at, `[${s.name}] has no sup equivalent: FastCGI programs are not imported (sup opens no sockets for its companions)`);
    } else if (s.name === "include" || s.name === "DEFAULT" || s.name.startsWith("program:") || s.name.startsWith("group:")) {
      // handled above
    } else warn(at, `[${s.name}] is not a supervisord section: ignored, as supervisord ignores it`);
  }

  // ---- order: supervisord's (groups and lone programs by priority, then name; members likewise)

  const byName = new Map(built.map((b) => [b.program, b]));
  const units: { name: string; priority: number; members: Built[]; group?: (typeof groups)[number] }[] = [];
  for (const gr of groups) {
    const members = gr.members.map((m) => byName.get(m)).filter((b): b is Built => b !== undefined);
    if (members.length) units.push({ name: gr.name, priority: gr.priority, members, group: gr });
  }
  for (const b of built) if (!groupOf.has(b.program)) units.push({ name: b.program, priority: b.priority, members: [b] });
  const cmp = (a: { name: string; priority: number }, b: { name: string; priority: number }) => a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  units.sort(cmp);
  const tables: Table[] = [{ path: ["defaults"], above: ["supervisord's defaults where they differ from sup's"], rows: defaultsRows }];
  const names: string[] = [];
  for (const u of units) {
    const members = [...u.members].sort((a, b) => cmp({ name: a.program, priority: a.priority }, { name: b.program, priority: b.priority }));
    members.forEach((m, i) => {
      const [first, ...rest] = m.tables;
      const above = [...(first!.above ?? [])];
      if (i === 0 && u.group) {
        above.unshift(`[group:${u.group.name}] programs = ${u.group.members.join(", ")}${u.priority !== 999 ? `, priority = ${u.priority}` : ""}: sup has no groups (sup ctl restart ${u.group.members.join(" ")})`);
      }
      tables.push({ ...first!, above }, ...rest);
      names.push(m.name);
    });
  }
  if (!names.length) warn(null, `no [program:x] found in ${src.show(src.file)}: the file has no companion (sup check refuses a file without one)`);

  const head = [
    `sup.toml, imported by \`sup import\` from ${src.show(src.file)}; check it with \`sup check\`.`,
    "How it reads (see README, \"Coming from supervisord or a Procfile\"):",
    "- commands are argv arrays, run without a shell as supervisord ran them; ${VAR} (was",
    "  %(ENV_VAR)s) is expanded from sup's environment and \"$$\" is a literal \"$\"",
    "- companions come in supervisord's start order (priority, lower first, then name); sup starts",
    "  them in this order but stops them all at once (depends_on orders both)",
    "- startretries = N is max_restarts = N + 1 (runs, not retries); a run fails until it is stable",
    "  (RUNNING and up startsecs more), where supervisord counted only exits before startsecs",
    "- a stop or kill signal reaches the companion's whole process tree (stopasgroup and",
    "  killasgroup, always)",
    "- captured output is also printed on sup's stdout as \"name | line\" (log_console = false: not)",
  ];
  // in file order (included files after the first, as read), then line; the rest last
  const ord = (at: At | null) => (at ? (fileOrder.get(at.file) ?? 0) : fileOrder.size);
  const warnings = found
    .sort((a, b) => ord(a.at) - ord(b.at) || (a.at?.line ?? 0) - (b.at?.line ?? 0) || a.order - b.order)
    .map((w) => (w.at ? `${w.text} (${src.show(w.at.file)}:${w.at.line})` : w.text));
  return { toml: renderToml(tables, head), warnings, companions: names };
}

/** [include] files = …: each pattern relative to the including file, matches sorted, as supervisord reads them */
function followIncludes(src: SupervisordSource, sections: Map<string, Section>, warn: Warn, fileOrder: Map<string, number>): void {
  const inc = sections.get("include");
  if (!inc) return;
  const files = inc.opts.get("files");
  for (const o of inc.opts.values()) if (o.key !== "files") warn(o, `[include] key '${o.key}' is not a supervisord include key: ignored`);
  if (!files) {
    warn(inc, "[include] has no files = …: supervisord refuses this; nothing included");
    return;
  }
  // expanded now, from this environment: the files are read now
  const value = files.value.replace(/%\((here|host_node_name|ENV_[^)]*)\)s|%%/g, (all, name: string | undefined) => {
    if (all === "%%") return "%";
    if (name === "here") return files.here;
    if (name === "host_node_name") return src.hostname;
    const v = src.env[name!.slice(4)];
    if (v === undefined) warn(files, `[include] key 'files': ${all} is not set in this environment: expanded to ""`);
    return v ?? "";
  });
  const base = dirname(src.file);
  for (const pattern of value.split(/\s+/).filter(Boolean)) {
    const abs = isAbsolute(pattern) ? pattern : `${base}/${pattern}`;
    const matches = src.glob(abs);
    if (!matches.length) {
      warn(files, `[include] ${pattern} matches no file (supervisord says so too)`);
      continue;
    }
    for (const f of matches) {
      const text = src.read(f);
      if (text === null) {
        warn(files, `[include] ${src.show(f)} cannot be read: not included`);
        continue;
      }
      if (!fileOrder.has(f)) fileOrder.set(f, fileOrder.size);
      const before = inc.opts.get("files");
      parseIni(text, f, sections, warn);
      const after = sections.get("include")?.opts.get("files");
      if (after !== before && after) {
        warn(after, `[include] in an included file is not followed (supervisord reads the first file's [include] only)`);
        sections.get("include")!.opts.set("files", before!);
      }
    }
  }
}
