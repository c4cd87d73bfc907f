// A companion's environment from the config (contract §3, §12): dotenv files parsed, `${VAR}` and
// `${VAR:-default}` expanded, layers merged in order. Pure: load.ts reads the files and hands
// their text in through EnvSource; nothing here touches the disk or the process.
import { parse as parseDotenv } from "dotenv";
import { isAbsolute, resolve } from "node:path";
import { badEnvKey } from "./schema.ts";

/** what reading one env file gave: its text, or why not (`missing`: it does not exist) */
export type EnvFileRead = { ok: true; text: string } | { ok: false; missing: boolean; why: string };

/** What the environment side of validation may know, handed in so that validation stays pure. */
export interface EnvSource {
  /** sup's own environment: the first layer that `${VAR}` is looked up in */
  vars: Readonly<Record<string, string | undefined>>;
  /** an env file by absolute path; the same path must give the same answer within one load */
  read: (path: string) => EnvFileRead;
}

/** the default for callers that read nothing: sup's environment, and no env file exists */
export const noFiles = (vars: Readonly<Record<string, string | undefined>> = process.env): EnvSource => ({
  vars,
  read: () => ({ ok: false, missing: true, why: "no such file" }),
});

/** one problem, with its key path below the config's root */
export interface EnvProblem {
  path: (string | number)[];
  message: string;
}

/** Parses dotenv text (`KEY=value`, quotes, `#` comments, `export `, multi-line double quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  return parseDotenv(text);
}

/** `-path` is an optional env file: the `-` marks it, it is not part of the name */
export function envFileEntry(entry: string): { optional: boolean; path: string } {
  return entry.startsWith("-") ? { optional: true, path: entry.slice(1) } : { optional: false, path: entry };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (the default also when VAR is empty, as sh does; it
 * may itself hold `${...}`, expanded only when used) and `$$` (a literal `$`). Any other `$` is
 * kept as written. Returns the value, or what is wrong, worded for a config message.
 */
export function interpolate(value: string, lookup: (name: string) => string | undefined): { ok: true; value: string } | { ok: false; message: string } {
  try {
    const [out, end] = expand(value, 0, lookup, false);
    if (end !== value.length) throw new Error(`unexpected "}" at character ${end + 1}`);
    return { ok: true, value: out };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** expands from `i` to the end, or (inDefault) to the `}` closing a default; returns [text, index] */
function expand(s: string, i: number, lookup: (name: string) => string | undefined, inDefault: boolean): [string, number] {
  let out = "";
  while (i < s.length) {
    const ch = s[i]!;
    if (inDefault && ch === "}") return [out, i];
    if (ch !== "$") {
      out += ch;
      i++;
      continue;
    }
    if (s[i + 1] === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (s[i + 1] !== "{") {
      out += "$";
      i++;
      continue;
    }
    const start = i;
    const close = /[}:]/g;
    close.lastIndex = i + 2;
    const m = close.exec(s);
    if (!m) throw new Error(`${s.slice(start)} is not closed: write \${NAME} or \${NAME:-default} ($$ for a literal $)`);
    const name = s.slice(i + 2, m.index);
    if (!NAME.test(name)) {
      throw new Error(`${JSON.stringify(s.slice(start, m.index + 1))}: ${JSON.stringify(name)} is not a variable name (letters, digits, _; $$ for a literal $)`);
    }
    const set = lookup(name);
    if (m[0] === "}") {
      if (set === undefined) throw new Error(`\${${name}} is not set (write \${${name}:-value} to give it a default)`);
      out += set;
      i = m.index + 1;
      continue;
    }
    if (s[m.index + 1] !== "-") throw new Error(`${JSON.stringify(s.slice(start, m.index + 2))}: only \${${name}} and \${${name}:-default} are understood`);
    // the default is expanded only when it is used: an unset name in an unused one is no error
    const [fallback, end] = set === undefined || set === "" ? expand(s, m.index + 2, lookup, true) : skipDefault(s, m.index + 2);
    if (end >= s.length) throw new Error(`${s.slice(start)} is not closed: write \${NAME} or \${NAME:-default} ($$ for a literal $)`);
    out += set === undefined || set === "" ? fallback : set;
    i = end + 1;
  }
  return [out, i];
}

/** finds the `}` that closes a default without expanding it (nested `${...}` and `$$` skipped) */
function skipDefault(s: string, i: number): [string, number] {
  let depth = 0;
  while (i < s.length) {
    if (s[i] === "$" && s[i + 1] === "$") i += 2;
    else if (s[i] === "$" && s[i + 1] === "{") {
      depth++;
      i += 2;
    } else if (s[i] === "}") {
      if (depth === 0) return ["", i];
      depth--;
      i++;
    } else i++;
  }
  return ["", i];
}

/** where each input came from: the key path of a value, for messages */
type Path = (string | number)[];

export interface EnvInput {
  /** the companion's name, SUP_NAME */
  name: string;
  /** SUP_INSTANCE (§12), when the caller expands instances; absent: not set */
  instance?: number;
  /** the config file's folder: relative env_file paths resolve against it */
  dir: string;
  /** [defaults].env, in file order */
  defaultsEnv: Record<string, string>;
  /** the env_file list in force (the companion's, else [defaults]'), and where it was written */
  envFiles: string[];
  envFilesAt: Path;
  /** the companion's own env, in file order */
  env: Record<string, string>;
  envAt: Path;
}

export interface EnvResult {
  /** the merged env the companion gets on top of the inherited one (without SUP_NAME) */
  env: Record<string, string>;
  /** expands `${...}` in a path, cwd or argv element with everything the companion will see */
  expand: (value: string, at: Path) => string;
  problems: EnvProblem[];
}

/**
 * Builds one companion's env: inherited < [defaults].env < env files (in order) < its own env.
 * `${VAR}` in [defaults].env and env values looks at sup's environment, SUP_NAME/SUP_INSTANCE
 * and the keys set before it; in env_file paths at those and [defaults].env. Env files' values
 * are taken as written (a `$` in a password stays a `$`).
 */
export function companionEnv(input: EnvInput, source: EnvSource): EnvResult {
  const problems: EnvProblem[] = [];
  const own: Record<string, string> = { SUP_NAME: input.name };
  if (input.instance !== undefined) own.SUP_INSTANCE = String(input.instance);
  // what `${VAR}` sees: grows as each key is set
  const scope: Record<string, string | undefined> = { ...source.vars, ...own };
  const lookup = (name: string) => scope[name];
  const merged: Record<string, string> = {};
  const expandAt = (value: string, at: Path): string => {
    const r = interpolate(value, lookup);
    if (r.ok) return r.value;
    problems.push({ path: at, message: r.message });
    return value;
  };
  const set = (key: string, value: string) => {
    merged[key] = value;
    scope[key] = value;
  };

  for (const [k, v] of Object.entries(input.defaultsEnv)) set(k, expandAt(v, ["defaults", "env", k]));

  input.envFiles.forEach((entry, i) => {
    const at = input.envFiles.length > 1 ? [...input.envFilesAt, i] : input.envFilesAt;
    const { optional, path } = envFileEntry(entry);
    if (path === "") {
      problems.push({ path: at, message: `"-" must be followed by a file name (e.g. "-.env.local": optional)` });
      return;
    }
    const before = problems.length;
    const expanded = expandAt(path, at);
    if (problems.length > before) return;
    const file = isAbsolute(expanded) ? expanded : resolve(input.dir, expanded);
    const read = source.read(file);
    if (!read.ok) {
      if (optional && read.missing) return;
      problems.push({ path: at, message: `cannot read env file ${file}: ${read.why}${read.missing ? ` (write "-${path}" if it is optional)` : ""}` });
      return;
    }
    for (const [k, v] of Object.entries(parseEnvFile(read.text))) {
      const bad = badEnvKey(k) ?? (v.includes("\0") ? `the value of ${JSON.stringify(k)} must not contain a NUL byte` : null);
      if (bad) problems.push({ path: at, message: `${file}: ${bad}` });
      else set(k, v);
    }
  });

  for (const [k, v] of Object.entries(input.env)) set(k, expandAt(v, [...input.envAt, k]));

  return { env: merged, expand: expandAt, problems };
}
