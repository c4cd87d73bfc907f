// Finds and reads the config file and hands it to validate.ts. The only config module that
// touches the disk; it never throws for a bad file, it returns the problems.
import { readFileSync } from "node:fs";
import { duplicateCompanions, validateConfig, type ConfigResult } from "./validate.ts";
import { systemAccounts } from "../os/users.ts";
import type { EnvFileRead, EnvSource } from "./env.ts";

export { configPath } from "./path.ts";

let importCounter = 0;

/** `vars`: sup's own environment, which `${VAR}` in the config is expanded from */
/** `instances`: counts set at run time by `scale`, which override the file's (contract §12) */
export async function loadConfig(file: string, vars: Readonly<Record<string, string | undefined>> = process.env, instances: Readonly<Record<string, number>> = {}): Promise<ConfigResult> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file" : err.code === "EISDIR" ? "is a folder" : err.code === "EACCES" ? "permission denied" : err.message;
    return { ok: false, problems: [`${file}: cannot read config: ${why}`] };
  }
  // an empty file is far more often a truncated or half-written one than a wish to stop
  // everything: refuse it (a reload then changes nothing)
  if (!/^[ \t]*[^#\s]/m.test(text)) return { ok: false, problems: [`${file}: the file is empty (no [companions.NAME] table); nothing changed`] };
  let raw: unknown;
  try {
    raw = Bun.TOML.parse(text);
  } catch (e) {
    // the parser refuses a second [companions.X] as a redefined table: say what it means, in
    // the original's words (a reread replies "invalid config: duplicate companion name X")
    const dups = duplicateCompanions(text);
    const problems = dups.map((name) => `duplicate companion name ${name}`);
    const redefined = /redefine .*'([^']*)'/.exec((e as Error)?.message ?? "")?.[1];
    // another syntax error is reported too; the parser's own words for the duplicate are not
    if (redefined === undefined || !dups.includes(redefined)) problems.push(await tomlError(file, e));
    return { ok: false, problems };
  }
  // user / group are checked against this machine: sup must be root, the names must exist
  return validateConfig(raw, file, text, { uid: process.getuid?.() ?? 0, accounts: () => systemAccounts(), instances }, envFiles(vars));
}

/**
 * sup's own environment and the env files, each read once per load: every companion naming a
 * file sees the same contents, and a change to them shows at the next reread (contract §12).
 */
function envFiles(vars: Readonly<Record<string, string | undefined>>): EnvSource {
  const cache = new Map<string, EnvFileRead>();
  return {
    vars,
    read(path) {
      let r = cache.get(path);
      if (!r) {
        try {
          r = { ok: true, text: readFileSync(path, "utf8") };
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder" : code === "EACCES" ? "permission denied" : (e as Error).message;
          r = { ok: false, missing: code === "ENOENT", why };
        }
        cache.set(path, r);
      }
      return r;
    },
  };
}

/** Bun.TOML.parse errors carry no line; importing the file as TOML does. */
async function tomlError(file: string, first: unknown): Promise<string> {
  const base = `${file}: invalid TOML: ${(first as Error)?.message ?? String(first)}`;
  try {
    await import(`${file}?v=${++importCounter}`, { with: { type: "toml" } });
  } catch (e) {
    const pos = (e as { position?: { line?: number; column?: number; lineText?: string } }).position;
    if (pos?.line) {
      const msg = (e as Error).message || (first as Error)?.message;
      return `${file}:${pos.line}:${pos.column ?? 0}: invalid TOML: ${msg}${pos.lineText ? `\n    ${pos.lineText.trim()}` : ""}`;
    }
  }
  return base;
}
