// Strict flag parsing from declared flags: an undeclared flag is a usage error (exit 2) with a
// did-you-mean, `--` ends the flags, values are checked against their choices. No library: the
// `sup ctl` hot path pays for nothing it does not use.
import { closest } from "../did-you-mean.ts";

export { closest };

export class UsageError extends Error {
  /** what to print under the message: the usage line of the verb, or where to find it */
  usage?: string;
}

export interface Flag {
  /** long name, without dashes: `--no-wait` is `no-wait` */
  name: string;
  short?: string;
  /** a boolean is present or not; a string flag takes a value (`--for ready`, `--for=ready`) */
  type: "boolean" | "string";
  /** the value's placeholder in help (FILE, S, N) */
  hint?: string;
  choices?: readonly string[];
  description: string;
}

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  /** positionals, in order; everything after `--` is one */
  args: string[];
}

/** a token that reads as a flag: `-x`, `--xx`, but not `-`, `--` nor a negative number */
const isFlag = (tok: string) => tok.startsWith("-") && tok !== "-" && tok !== "--" && !/^-\d/.test(tok);

export function parse(tokens: string[], defs: readonly Flag[]): Parsed {
  const flags: Parsed["flags"] = {};
  const args: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok === "--") {
      args.push(...tokens.slice(i + 1));
      break;
    }
    if (!isFlag(tok)) {
      args.push(tok);
      continue;
    }
    const eq = tok.indexOf("=");
    const spelled = eq < 0 ? tok : tok.slice(0, eq);
    const def = tok.startsWith("--") ? defs.find((d) => d.name === spelled.slice(2)) : defs.find((d) => d.short === spelled.slice(1));
    if (!def) throw new UsageError(`unknown flag ${spelled}${hint(spelled, defs)}`);
    if (def.type === "boolean") {
      if (eq >= 0) throw new UsageError(`${spelled} takes no value`);
      flags[def.name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = tok.slice(eq + 1);
    else if (i + 1 < tokens.length && tokens[i + 1] !== "--") value = tokens[++i];
    if (value === undefined || value === "") throw new UsageError(`${spelled} needs a value${def.hint ? ` (${def.hint})` : ""}`);
    if (def.choices && !def.choices.includes(value)) throw new UsageError(`${spelled} must be ${def.choices.join(" or ")}, not '${value}'${suggest(value, def.choices, (c) => c)}`);
    flags[def.name] = value;
  }
  return { flags, args };
}

function hint(spelled: string, defs: readonly Flag[]): string {
  const long = spelled.replace(/^-+/, "");
  const names = defs.flatMap((d) => [`--${d.name}`, ...(d.short ? [`-${d.short}`] : [])]);
  // `-json` for `--json`, `--c` for `-c`: the same name with the wrong dashes
  const same = defs.find((d) => d.name === long || d.short === long);
  if (same) return ` (did you mean ${long.length > 1 ? `--${same.name}` : `-${same.short}`}?)`;
  return suggest(`--${long}`, names, (n) => n);
}

/** " (did you mean X?)" for the closest candidate, or "" when none is close */
export function suggest<T>(input: string, candidates: readonly T[], name: (c: T) => string): string {
  const best = closest(input, candidates.map(name));
  return best ? ` (did you mean ${best}?)` : "";
}

