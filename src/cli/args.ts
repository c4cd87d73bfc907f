// Strict flag parsing shared by every command: citty accepts unknown flags silently, sup
// treats them as usage errors (exit 2).
import type { ArgsDef } from "citty";

export class UsageError extends Error {}

/** the flags part of `raw`: everything before `--` (after it, `--help` is a name) */
export function flagsPart(raw: string[]): string[] {
  const end = raw.indexOf("--");
  return end < 0 ? raw : raw.slice(0, end);
}

/** `--help` or `-h` among the flags (not after `--`) */
export function wantsHelp(raw: string[]): boolean {
  const flags = flagsPart(raw);
  return flags.includes("--help") || flags.includes("-h");
}

/** reject any -x / --xx that `def` does not declare (by name or alias) */
export function checkFlags(raw: string[], def: ArgsDef): void {
  const known = new Set<string>(["help", "h"]);
  for (const [name, d] of Object.entries(def)) {
    known.add(name);
    const alias = (d as { alias?: string | string[] }).alias;
    for (const a of Array.isArray(alias) ? alias : alias ? [alias] : []) known.add(a);
  }
  for (const tok of flagsPart(raw)) {
    if (!tok.startsWith("-") || tok === "-" || /^-\d/.test(tok)) continue;
    const name = tok.replace(/^--?/, "").split("=")[0]!.replace(/^no-/, "");
    if (!known.has(name)) throw new UsageError(`unknown flag ${tok}`);
  }
}

export const configArg = {
  config: { type: "string", alias: "c", description: "config file (default: $SUP_CONFIG, else ./sup.toml)", valueHint: "FILE" },
} as const;
