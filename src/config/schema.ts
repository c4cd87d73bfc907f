// The config file's shape: zod schemas for [sup], [defaults] and [companions.NAME], and the
// resolved types the rest of sup uses. Pure: no file access; load.ts feeds it parsed TOML.
import { z } from "zod";
import { parseSignal } from "./signals.ts";

/**
 * The largest duration whose value in ms is still a safe integer: past it, ms(1e308) is
 * Infinity and every timer and status field built on it breaks.
 */
export const MAX_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

const secondsType = (what: string) =>
  z.number({
    error: (iss) =>
      typeof iss.input === "number" ? `must be a finite number of seconds (not ${String(iss.input).replace("Infinity", "inf").replace("NaN", "nan")})` : what,
  });
const atMost = { error: `must be at most ${MAX_SECONDS} seconds` };
const seconds = secondsType("must be a number of seconds").min(0, { error: "must be >= 0" }).max(MAX_SECONDS, atMost);

const NUL = "\0";
const noNul = (s: string) => !s.includes(NUL);
const nulMessage = { error: "must not contain a NUL byte" };
/** a path: non-empty, and no NUL (the OS cannot take one) */
const pathString = (what: string) => z.string({ error: what }).min(1, { error: "must not be empty" }).refine(noNul, nulMessage);

const signal = z.union([z.string(), z.number()], { error: "must be a signal name or number" }).transform((v, ctx) => {
  const name = parseSignal(v);
  if (!name) {
    ctx.addIssue({ code: "custom", message: `unknown signal ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return name;
});

const envValue = z
  .union([z.string(), z.number(), z.boolean()], { error: "env values must be strings" })
  .transform(String)
  .refine(noNul, nulMessage);

/** what is wrong with an env key as the kernel's `KEY=value` strings see it, or null */
export function badEnvKey(key: string): string | null {
  if (key === "") return 'an env key must not be empty ("")';
  if (key.includes("=")) return `env key ${JSON.stringify(key)} must not contain "=" (the companion would see ${JSON.stringify(`${key}=…`)})`;
  if (key.includes(NUL)) return `env key ${JSON.stringify(key)} must not contain a NUL byte`;
  return null;
}

const env = z.record(z.string(), envValue, { error: "must be a table of NAME = value" }).superRefine((table, ctx) => {
  for (const key of Object.keys(table)) {
    const bad = badEnvKey(key);
    // reported at the env table with the key quoted: the key itself may be empty or unprintable
    if (bad) ctx.addIssue({ code: "custom", message: bad, path: [] });
  }
});

/** Every key a companion may set; [defaults] takes the same keys except `command`. */
export const companionFields = {
  startsecs: seconds,
  restart: z.enum(["always", "on-failure", "never"], { error: 'must be "always", "on-failure" or "never"' }),
  restart_delay: seconds,
  backoff: z.enum(["fixed", "exponential"], { error: 'must be "fixed" or "exponential"' }),
  max_restart_delay: seconds,
  stop_signal: signal,
  stop_timeout: seconds,
  reload_timeout: seconds,
  stdout: pathString('must be "inherit", "null" or a file path'),
  stderr: pathString('must be "inherit", "null", "stdout" or a file path'),
  cwd: pathString("must be a folder path"),
  env,
  essential: z.boolean({ error: "must be true or false" }),
} as const;

const command = z.union(
  [
    z.string().trim().min(1, { error: "must not be empty" }).refine(noNul, nulMessage),
    z
      .array(z.string().refine(noNul, nulMessage), { error: "must be a string or an array of strings" })
      .min(1, { error: "must not be empty" })
      .refine((argv) => argv[0] === undefined || argv[0].trim() !== "", { error: "the program (its first element) must not be empty" }),
  ],
  { error: "must be a string (run with /bin/sh -c) or an array of strings (argv)" },
);

const table = (what: string) => ({ error: `must be a table (${what})` });

export const defaultsSchema = z.strictObject(companionFields, table("[defaults]")).partial();
export const companionSchema = z
  .strictObject({ command, ...companionFields }, table("[companions.NAME]"))
  .partial()
  .required({ command: true });

export const supSchema = z.strictObject(
  {
    socket: pathString("must be a socket path").optional(),
    graceful_timeout: secondsType("must be a number of seconds").positive({ error: "must be > 0 seconds" }).max(MAX_SECONDS, atMost).optional(),
    fail_fast: z.boolean({ error: "must be true or false" }).optional(),
  },
  table("[sup]"),
);

/** the file's top level: only the section names are checked here, each section on its own */
export const fileSchema = z.strictObject({
  sup: z.unknown().optional(),
  defaults: z.unknown().optional(),
  companions: z.record(z.string(), z.unknown(), { error: "must be a table of [companions.NAME] tables" }).optional(),
});

export type RawCompanion = z.output<typeof companionSchema>;
export type RawDefaults = z.output<typeof defaultsSchema>;

export const builtinDefaults = {
  startsecs: 1,
  restart: "always",
  restart_delay: 1,
  backoff: "fixed",
  max_restart_delay: 30,
  stop_signal: "SIGTERM",
  stop_timeout: 10,
  reload_timeout: 10,
  stdout: "inherit",
  stderr: "inherit",
  cwd: ".",
  env: {},
  essential: false,
} satisfies Required<RawDefaults>;

export type Output = { kind: "inherit" } | { kind: "null" } | { kind: "file"; path: string };
export type ErrOutput = Output | { kind: "stdout" };

/** A companion's fully resolved settings: durations in ms, paths absolute. */
export interface CompanionSpec {
  name: string;
  /** as written: a shell string or an argv array */
  command: string | string[];
  argv: string[];
  startsecsMs: number;
  restart: "always" | "on-failure" | "never";
  restartDelayMs: number;
  backoff: "fixed" | "exponential";
  maxRestartDelayMs: number;
  stopSignal: string;
  stopTimeoutMs: number;
  reloadTimeoutMs: number;
  stdout: Output;
  stderr: ErrOutput;
  cwd: string;
  env: Record<string, string>;
  essential: boolean;
  /** stable hash of every field above: the identity reread compares */
  hash: string;
}

export interface SupConfig {
  /** absolute path of the file this came from */
  file: string;
  dir: string;
  socket: string;
  /** null: slowest stop_timeout + 5 s */
  gracefulTimeoutMs: number | null;
  failFast: boolean;
  companions: CompanionSpec[];
}

/** contract §3: letters, digits, "-", "_", "."; not starting with "-" (it would read as a flag) or "." */
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
