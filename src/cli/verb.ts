// What a verb is (its help, flags, exit codes, environment and example as data), the flags and
// exit codes that several verbs share (declared once here), and the help printed from them.
// Imports nothing effectful: the verb files own what they run.
import { type Flag, type Parsed, UsageError } from "./args.ts";

/** how the completion completes a verb's positionals */
export type Positionals = "none" | "names" | "signal-then-names" | "name-then-count" | "shells";

export interface Verb {
  name: string;
  /** one line for the list in `sup --help` */
  summary: string;
  /** positionals in the usage line: "NAME... | all" */
  synopsis: string;
  /** the verb's own flags; ctl verbs also take CTL_FLAGS */
  flags: readonly Flag[];
  exits: readonly ExitDoc[];
  env: readonly EnvDoc[];
  example: string;
  /** more lines of explanation under the usage line */
  notes?: string;
  /** a manager verb: `sup ctl VERB` and `sup VERB` */
  ctl: boolean;
  positionals: Positionals;
  hidden?: boolean;
  run(p: Parsed, ctx: Ctx): Promise<number>;
}

export interface Ctx {
  /** "sup ctl" or "sup": how the verb was called, for messages */
  prog: string;
  /** the control socket: -s, else [sup].socket of the config (throws Exit when it cannot tell) */
  socket(): string;
}

/** stop with this exit code after printing `message` to stderr (a config that cannot be read) */
export class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export type ExitDoc = readonly [code: number, meaning: string];
export type EnvDoc = readonly [name: string, meaning: string];

// ---------- shared flags

export const HELP: Flag = { name: "help", short: "h", type: "boolean", description: "print this help" };
export const CONFIG: Flag = { name: "config", short: "c", type: "string", hint: "FILE", description: "config file (default: $SUP_CONFIG, else ./sup.toml)" };
export const SOCKET: Flag = { name: "socket", short: "s", type: "string", hint: "SOCKET", description: "control socket path (default: [sup].socket of the config)" };
/** every ctl verb takes these */
export const CTL_FLAGS: readonly Flag[] = [CONFIG, SOCKET, HELP];
export const JSON_FLAG: Flag = { name: "json", type: "boolean", description: "print the reply as JSON" };
export const TIMEOUT: Flag = { name: "timeout", type: "string", hint: "S", description: "give up after S seconds (default: what the companion needs, plus 5 s)" };

// ---------- shared exit codes and environment

export const EXIT_OK: ExitDoc = [0, "success"];
export const EXIT_REFUSED: ExitDoc = [1, "the manager refused or failed the request (for any name of several)"];
export const EXIT_USAGE: ExitDoc = [2, "usage error, or a config that cannot be read"];
export const EXIT_UNREACHABLE: ExitDoc = [3, "cannot reach the manager (no socket, refused, no reply in time)"];
export const EXIT_NOT_WANTED: ExitDoc = [4, "reachable, but not every companion asked about is as wanted"];
/** the codes of a verb that sends one request and prints the reply */
export const CTL_EXITS: readonly ExitDoc[] = [EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE];

export const ENV_CONFIG: EnvDoc = ["SUP_CONFIG", "the config file when -c is not given"];
export const ENV_TIMEOUT: EnvDoc = ["SUP_CTL_TIMEOUT_MS", "how long to wait for the manager's reply (default 10000); a waiting verb adds its own wait"];
export const ENV_NO_COLOR: EnvDoc = ["NO_COLOR", "no colour even on a terminal (output into a pipe never has colour)"];
export const CTL_ENV: readonly EnvDoc[] = [ENV_CONFIG, ENV_TIMEOUT, ENV_NO_COLOR];

/** seconds from --timeout: a positive finite number */
export function seconds(value: string | boolean | undefined, flag = "--timeout"): number | undefined {
  if (value === undefined || typeof value === "boolean") return undefined;
  const s = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !Number.isFinite(s) || s <= 0 || s > 9_007_199_254) throw new UsageError(`${flag} must be a number of seconds > 0, not '${value}'`);
  return s;
}

// ---------- help

function flagLine(f: Flag): [string, string] {
  const value = f.type === "string" ? ` ${f.choices ? f.choices.join("|") : (f.hint ?? "VALUE")}` : "";
  return [`${f.short ? `-${f.short}, ` : "    "}--${f.name}${value}`, f.description];
}

function table(rows: readonly (readonly [string, string])[], indent = "  "): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`.trimEnd()).join("\n");
}

/** the usage line of `verb` called as `prog` ("sup ctl" or "sup") */
export function usageLine(verb: Verb, prog: string): string {
  const own = verb.flags.filter((f) => f !== HELP);
  const flags = own.map((f) => (f.type === "string" ? `[--${f.name} ${f.choices ? f.choices.join("|") : f.hint}]` : `[--${f.name}]`)).join(" ");
  const global = verb.ctl ? "[-c FILE | -s SOCKET] " : "";
  return `usage: ${prog} ${global}${verb.name}${flags ? " " + flags : ""}${verb.synopsis ? " " + verb.synopsis : ""}`;
}

/** the whole help of one verb: usage, what it does, flags, exit codes, environment, example */
export function verbHelp(verb: Verb, prog: string): string {
  const flags = verb.ctl ? [...verb.flags, ...CTL_FLAGS.filter((f) => !verb.flags.includes(f))] : verb.flags.includes(HELP) ? verb.flags : [...verb.flags, HELP];
  const parts = [usageLine(verb, prog), "", `${verb.summary}.${verb.notes ? "\n" + verb.notes : ""}`, "", "flags:", table(flags.map(flagLine)), "", "exit codes:", table(verb.exits.map(([c, m]) => [String(c), m] as const))];
  if (verb.env.length) parts.push("", "environment:", table(verb.env));
  parts.push("", "example:", `  ${verb.example.replace(/^sup (ctl )?/, `${prog} `)}`);
  return parts.join("\n") + "\n";
}
