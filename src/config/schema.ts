// The config file's shape: zod schemas for [sup], [defaults] and [companions.NAME], and the
// resolved types the rest of sup uses. Pure: no file access; load.ts feeds it parsed TOML.
import { z } from "zod";
import { closest } from "../did-you-mean.ts";
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

/** contract §10: the resource limits a companion may set, as setrlimit(2) names them (RLIMIT_X) */
export const LIMIT_KEYS = ["nofile", "core", "nproc", "memlock", "as", "stack", "cpu"] as const;
export type LimitName = (typeof LIMIT_KEYS)[number];
/** the limits counted in bytes: they take sizes with units ("512MB") */
const BYTE_LIMITS: ReadonlySet<LimitName> = new Set(["memlock", "as", "stack", "core"]);

/** soft and hard value of one limit; Infinity is "unlimited" (RLIM_INFINITY) */
export interface LimitPair {
  soft: number;
  hard: number;
}
export type Limits = Partial<Record<LimitName, LimitPair>>;

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * A size in bytes: a whole number, or a string with a unit — "512MB" (powers of 1000), "1GiB"
 * (powers of 1024), "100B". A bare "M" is refused: it means 10^6 to some and 2^20 to others.
 * Returns the bytes (whole, at most 2^53 - 1), or a message saying what is wrong.
 */
export function parseSize(v: unknown): number | string {
  const what = 'must be a size: bytes, or a string with a unit ("512MB", "1GiB")';
  let bytes: number;
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) return what;
    bytes = v;
  } else if (typeof v === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v);
    if (!m) return what;
    const unit = m[2]!.toLowerCase();
    const factor = unit === "" ? 1 : SIZE_UNITS[unit];
    if (factor === undefined) {
      if (/^[kmgt]$/.test(unit)) return `unit "${m[2]}" is ambiguous: write "${m[2]!.toUpperCase()}B" (powers of 1000) or "${m[2]!.toUpperCase()}iB" (powers of 1024)`;
      return `unknown unit "${m[2]}": use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB`;
    }
    bytes = Math.floor(Number(m[1]) * factor);
  } else return what;
  if (!Number.isSafeInteger(bytes)) return `must be at most ${Number.MAX_SAFE_INTEGER} bytes`;
  return bytes;
}

/** one limit value: a number (soft = hard), "unlimited", or [soft, hard]; sizes where bytes are meant */
const limitValue = (name: LimitName) =>
  z.unknown().transform((v, ctx): LimitPair => {
    const bytes = BYTE_LIMITS.has(name);
    const what = `must be ${bytes ? "a size" : "a whole number"}, "unlimited", or [soft, hard]`;
    const one = (x: unknown): number | string => {
      if (x === "unlimited" || x === "infinity") return Infinity;
      if (bytes) return parseSize(x);
      if (typeof x !== "number" || !Number.isInteger(x) || x < 0) return what;
      return Number.isSafeInteger(x) ? x : `must be at most ${Number.MAX_SAFE_INTEGER}`;
    };
    const pair = Array.isArray(v) ? (v.length === 2 ? [one(v[0]), one(v[1])] : [what, what]) : [one(v), one(v)];
    const bad = pair.find((x) => typeof x === "string");
    if (bad !== undefined) {
      ctx.addIssue({ code: "custom", message: bad as string });
      return z.NEVER;
    }
    const [soft, hard] = pair as [number, number];
    if (soft > hard) {
      ctx.addIssue({ code: "custom", message: `the soft limit (${soft}) must not be above the hard limit (${hard === Infinity ? "unlimited" : hard})` });
      return z.NEVER;
    }
    return { soft, hard };
  });

const limits = z.strictObject(
  Object.fromEntries(LIMIT_KEYS.map((k) => [k, limitValue(k).optional()])) as { [K in LimitName]: z.ZodOptional<ReturnType<typeof limitValue>> },
  { error: "must be a table like { nofile = 65536, core = 0 }" },
);

/** a user or group: a name, or a numeric id */
const principal = (what: string) =>
  z.union(
    [
      z.string().superRefine((s, ctx) => {
        if (s === "") ctx.addIssue({ code: "custom", message: "must not be empty" });
        else if (!/^[A-Za-z0-9_.][A-Za-z0-9_.$-]*$/.test(s)) ctx.addIssue({ code: "custom", message: `must be a ${what} name or a numeric id` });
      }),
      z.number().int({ error: `must be a ${what} name or a whole numeric id` }).min(0, { error: "must be >= 0" }).max(2 ** 32 - 2, { error: "is not a valid id" }),
    ],
    { error: `must be a ${what} name or a numeric id` },
  );

const umask = z.union([z.string(), z.number()], { error: 'must be an octal string like "027"' }).transform((v, ctx) => {
  const n = typeof v === "number" ? v : /^[0-7]{1,4}$/.test(v) ? parseInt(v, 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o777) {
    ctx.addIssue({ code: "custom", message: `must be an octal string like "027" (not ${JSON.stringify(v)})` });
    return z.NEVER;
  }
  return n;
});

const size = z.unknown().transform((v, ctx) => {
  const n = parseSize(v);
  if (typeof n === "string") {
    ctx.addIssue({ code: "custom", message: n });
    return z.NEVER;
  }
  if (n === 0) {
    ctx.addIssue({ code: "custom", message: "must be more than 0 bytes (leave it out for no limit)" });
    return z.NEVER;
  }
  return n;
});

/** log_max_bytes: a size, 0 = never rotate */
const sizeOrZero = z.unknown().transform((v, ctx) => {
  const n = parseSize(v);
  if (typeof n === "string") {
    ctx.addIssue({ code: "custom", message: n });
    return z.NEVER;
  }
  return n;
});

/**
 * stdout/stderr: a keyword, or a path — which must contain a "/" or a "." to be taken as one, so
 * that a misspelt keyword ("stdot", "captrue") is an error with a did-you-mean, not a file.
 */
const outputTo = (keywords: string[]) =>
  pathString(`must be ${keywords.map((k) => `"${k}"`).join(", ")} or a file path`).superRefine((v, ctx) => {
    if (keywords.includes(v) || v.includes("/") || v.includes(".")) return;
    const near = closest(v, keywords);
    ctx.addIssue({
      code: "custom",
      message: `unknown value ${JSON.stringify(v)}${near ? ` (did you mean "${near}"?)` : ""}: use ${keywords.map((k) => `"${k}"`).join(", ")}, or a file path with a "/" or a "." (e.g. "./${v}.log")`,
    });
  });


/** env_file: a dotenv file or a list of them; "-path" is optional (contract §12) */
const envFiles = z
  .union([pathString("must be a file path or a list of them"), z.array(pathString("must be a file path"), { error: "must be a file path or a list of them" })], {
    error: "must be a file path or a list of them",
  })
  .transform((v) => (typeof v === "string" ? [v] : v));

const exitCodesMessage = { error: "must be a list of exit codes (whole numbers 0-255), e.g. [0, 2]" };
const exitCodes = z
  .array(z.number(exitCodesMessage).int(exitCodesMessage).min(0, exitCodesMessage).max(255, exitCodesMessage), exitCodesMessage)
  .transform((codes) => [...new Set(codes)].sort((a, b) => a - b));

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
  autostart: z.boolean({ error: "must be true or false" }),
  instances: z.number({ error: "must be a whole number from 1 to 1000" }).int({ error: "must be a whole number from 1 to 1000" }).min(1, { error: "must be at least 1" }).max(1000, { error: "must be at most 1000" }),
  stdout: outputTo(["capture", "inherit", "null"]),
  stderr: outputTo(["capture", "inherit", "null", "stdout"]),
  cwd: pathString("must be a folder path"),
  env,
  env_file: envFiles,
  essential: z.boolean({ error: "must be true or false" }),
  success_exit_codes: exitCodes,
  max_restarts: z.number({ error: "must be a whole number >= 0 (0 = never give up)" }).int({ error: "must be a whole number >= 0 (0 = never give up)" }).min(0, { error: "must be a whole number >= 0 (0 = never give up)" }),
  user: principal("user"),
  group: principal("group"),
  umask,
  nice: z.number({ error: "must be a whole number from -20 to 19" }).int({ error: "must be a whole number from -20 to 19" }).min(-20, { error: "must be from -20 to 19" }).max(19, { error: "must be from -20 to 19" }),
  limits,
  max_memory: size,
  log_console: z.boolean({ error: "must be true or false" }),
  log_file: pathString("must be a file path ({name} is replaced by the companion's name)"),
  log_max_bytes: sizeOrZero,
  log_backups: z.number({ error: "must be a whole number >= 0" }).int({ error: "must be a whole number >= 0" }).min(0, { error: "must be a whole number >= 0" }).max(1000, { error: "must be at most 1000" }),
  log_timestamps: z.boolean({ error: "must be true or false" }),
  log_format: z.enum(["text", "json"], { error: 'must be "text" or "json"' }),
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


// ---------- readiness, health, dependencies (contract §9)

/**
 * One way to tell that a companion is ready (or alive): sd_notify READY=1 on sup's datagram socket,
 * a newline on an inherited fd (s6's notification-fd), a TCP connect, an HTTP GET answering 2xx
 * (or `status`), a command exiting 0, a captured line matching a regular expression; for health
 * also the notify watchdog (no WATCHDOG=1 for `ms`).
 */
export type Probe =
  | { kind: "notify" }
  | { kind: "fd"; fd: number }
  | { kind: "tcp"; host: string; port: number; raw?: string } // raw: "host:${PORT}", parsed after ${…} expansion
  | { kind: "http"; url: string; status: number | null }
  | { kind: "exec"; argv: string[] }
  | { kind: "log"; pattern: string }
  | { kind: "watchdog"; ms: number };

/** a `ready` or `health` check: the probe and its timings (ms); `withinMs` for ready, `failures` for health */
export interface Check {
  probe: Probe;
  intervalMs: number;
  timeoutMs: number;
  withinMs: number;
  failures: number;
}

/** a dependency condition (contract §9): spawned, RUNNING (ready), EXITED with a success code */
export type DependCondition = "started" | "ready" | "completed";
export interface Dependency {
  name: string;
  condition: DependCondition;
  /** (unmet ones, at run time) why it cannot be met without the operator: "it is FATAL" */
  why?: string;
}

const positiveSeconds = secondsType("must be a number of seconds").positive({ error: "must be > 0 seconds" }).max(MAX_SECONDS, atMost);

/** "host:port", "[v6]:port" or a port number (host 127.0.0.1) */
export function tcpTarget(v: string | number): { host: string; port: number } | string {
  if (typeof v === "number") return Number.isInteger(v) && v >= 1 && v <= 65535 ? { host: "127.0.0.1", port: v } : "the port must be a whole number from 1 to 65535";
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return 'must be a port number or "host:port" (e.g. 5432 or "127.0.0.1:5432")';
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

const probeFields = {
  notify: z.literal(true, { error: "must be true (sd_notify: sup gives the companion a NOTIFY_SOCKET)" }),
  fd: z.number({ error: "must be a file descriptor number from 3 to 63" }).int({ error: "must be a whole number from 3 to 63" }).min(3, { error: "must be at least 3 (0-2 are stdin, stdout, stderr)" }).max(63, { error: "must be at most 63" }),
  tcp: z.union([z.number(), z.string()], { error: 'must be a port number or "host:port"' }),
  http: z.string({ error: 'must be a URL like "http://127.0.0.1:8000/health"' }).regex(/^https?:\/\/[^\s/]+/, { error: 'must be an http:// or https:// URL like "http://127.0.0.1:8000/health"' }),
  status: z.number({ error: "must be an HTTP status code (100-599)" }).int({ error: "must be an HTTP status code (100-599)" }).min(100, { error: "must be an HTTP status code (100-599)" }).max(599, { error: "must be an HTTP status code (100-599)" }),
  exec: z.union([z.string().trim().min(1, { error: "must not be empty" }), z.array(z.string(), { error: "must be a string or an array of strings" }).min(1, { error: "must not be empty" })], {
    error: "must be a string (run with /bin/sh -c) or an array of strings (argv)",
  }),
  log: z.string({ error: "must be a regular expression" }).min(1, { error: "must not be empty" }),
  watchdog: positiveSeconds,
  interval: positiveSeconds,
  timeout: positiveSeconds,
  within: positiveSeconds,
  failures: z.number({ error: "must be a whole number >= 1" }).int({ error: "must be a whole number >= 1" }).min(1, { error: "must be a whole number >= 1" }).max(1000, { error: "must be at most 1000" }),
} as const;

const READY_KINDS = ["notify", "fd", "tcp", "http", "exec", "log"] as const;
const HEALTH_KINDS = ["tcp", "http", "exec", "watchdog"] as const;

/** `ready` or `health`: exactly one kind of probe, with the timings of its use (contract §9) */
function checkSchema(use: "ready" | "health") {
  const kinds: readonly string[] = use === "ready" ? READY_KINDS : HEALTH_KINDS;
  const timing = use === "ready" ? ["interval", "timeout", "within"] : ["interval", "timeout", "failures"];
  const keys = [...kinds, "status", ...timing] as (keyof typeof probeFields)[];
  const shape = Object.fromEntries(keys.map((k) => [k, probeFields[k].optional()])) as { [K in keyof typeof probeFields]: z.ZodOptional<(typeof probeFields)[K]> };
  const example = use === "ready" ? "ready = { tcp = 5432 }" : 'health = { http = "http://127.0.0.1:8000/health" }';
  return z.strictObject(shape, { error: `must be a table like ${example}` }).transform((v, ctx): Check => {
    const given = kinds.filter((k) => v[k as keyof typeof v] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: "custom", message: given.length ? `takes one kind of check, not ${given.join(" and ")}` : `needs one of ${kinds.join(", ")} (e.g. ${example})` });
      return z.NEVER;
    }
    if (v.status !== undefined && v.http === undefined) ctx.addIssue({ code: "custom", message: "status goes with http", path: ["status"] });
    let probe: Probe;
    const kind = given[0]!;
    if (kind === "notify") probe = { kind: "notify" };
    else if (kind === "fd") probe = { kind: "fd", fd: v.fd! };
    else if (kind === "tcp" && typeof v.tcp === "string" && v.tcp.includes("${")) probe = { kind: "tcp", host: "", port: 0, raw: v.tcp };
    else if (kind === "tcp") {
      const t = tcpTarget(v.tcp!);
      if (typeof t === "string") {
        ctx.addIssue({ code: "custom", message: t, path: ["tcp"] });
        return z.NEVER;
      }
      probe = { kind: "tcp", ...t };
    } else if (kind === "http") probe = { kind: "http", url: v.http!, status: v.status ?? null };
    else if (kind === "exec") probe = { kind: "exec", argv: typeof v.exec === "string" ? ["/bin/sh", "-c", v.exec] : v.exec! };
    else if (kind === "log") {
      try {
        new RegExp(v.log!);
      } catch (e) {
        ctx.addIssue({ code: "custom", message: `is not a regular expression: ${(e as Error).message}`, path: ["log"] });
        return z.NEVER;
      }
      probe = { kind: "log", pattern: v.log! };
    } else probe = { kind: "watchdog", ms: Math.round(v.watchdog! * 1000) };
    const ms = (s: number | undefined, d: number) => Math.round((s ?? d) * 1000);
    return use === "ready"
      ? { probe, intervalMs: ms(v.interval, 0.5), timeoutMs: ms(v.timeout, 1), withinMs: ms(v.within, 60), failures: 1 }
      : { probe, intervalMs: ms(v.interval, 10), timeoutMs: ms(v.timeout, 2), withinMs: 0, failures: v.failures ?? 3 };
  });
}

const dependCondition = z.enum(["started", "ready", "completed"], { error: 'must be "started", "ready" or "completed"' });
const dependList = z
  .array(z.string({ error: "must be a companion name" }), { error: 'must be a list of names (["db"]) or a table of NAME = "started" | "ready" | "completed"' })
  .transform((names): Dependency[] => [...new Set(names)].map((name) => ({ name, condition: "ready" as const })));
const dependTable = z.record(z.string(), dependCondition).transform((t): Dependency[] => Object.entries(t).map(([name, condition]) => ({ name, condition })));
/**
 * depends_on = ["db"] (condition ready) or { db = "ready", migrate = "completed" }. Parsed by
 * its form, so that a bad entry is named at its own key (depends_on.db: must be …).
 * (scripts/schema.ts describes it for editors.)
 */
const dependsOn = z.unknown().transform((v, ctx): Dependency[] => {
  const r = (v !== null && typeof v === "object" && !Array.isArray(v) ? dependTable : dependList).safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path as (string | number)[] });
  return z.NEVER;
});

/** the keys only a companion's own table takes (not [defaults]): what it waits for and how it is known to be up */
export const companionOnlyFields = {
  ready: checkSchema("ready"),
  health: checkSchema("health"),
  depends_on: dependsOn,
} as const;

const table = (what: string) => ({ error: `must be a table (${what})` });

export const defaultsSchema = z.strictObject(companionFields, table("[defaults]")).partial();
export const companionSchema = z
  .strictObject({ command, ...companionFields, ...companionOnlyFields }, table("[companions.NAME]"))
  .partial()
  .required({ command: true });

export const supSchema = z.strictObject(
  {
    socket: pathString("must be a socket path").optional(),
    socket_group: z.union([z.string().min(1), z.number().int().min(0)], { error: "must be a group name or id" }).optional(),
    status_socket: pathString("must be a socket path").optional(),
    state_file: pathString("must be a file path").optional(),
    metrics: z
      .string({ error: 'must be "host:port", e.g. "127.0.0.1:9101"' })
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, { error: 'must be "host:port", e.g. "127.0.0.1:9101"' })
      .refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, { error: "the port must be at most 65535" })
      .optional(),
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

/**
 * Every companion key but `command`, with its default; null: not set (the companion keeps what
 * sup has: its user, umask, nice). README's config reference is checked against these keys.
 */
export const builtinDefaults = {
  startsecs: 1,
  restart: "always",
  restart_delay: 1,
  backoff: "exponential",
  max_restart_delay: 30,
  stop_signal: "SIGTERM",
  stop_timeout: 10,
  reload_timeout: null,
  autostart: true,
  instances: 1,
  stdout: "capture",
  stderr: "capture",
  cwd: ".",
  env: {},
  env_file: [],
  essential: false,
  success_exit_codes: [0],
  max_restarts: 0,
  user: null,
  group: null,
  umask: null,
  nice: null,
  limits: {},
  max_memory: null,
  log_console: true,
  log_file: null,
  log_max_bytes: 50_000_000,
  log_backups: 10,
  log_timestamps: false,
  log_format: "text",
} satisfies { [K in keyof RawDefaults]-?: Exclude<RawDefaults[K], undefined> | null };

/** [defaults] merged over builtinDefaults: every key present, null where nothing is set */
export type ResolvedDefaults = { [K in keyof RawDefaults]-?: Exclude<RawDefaults[K], undefined> | (K extends OptionalKey ? null : never) };
type OptionalKey = "user" | "group" | "umask" | "nice" | "max_memory" | "log_file" | "reload_timeout";

export type Output = { kind: "capture" } | { kind: "inherit" } | { kind: "null" } | { kind: "file"; path: string };

/** where captured output goes (contract §8) */
export interface LogSinks {
  /** `name | line` on sup's stdout */
  console: boolean;
  /** absolute path with {name} replaced, or null */
  file: string | null;
  maxBytes: number;
  backups: number;
  timestamps: boolean;
  format: "text" | "json";
}
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
  /** sinks of captured output */
  log: LogSinks;
  cwd: string;
  env: Record<string, string>;
  essential: boolean;
  /** exit codes that count as success (on-failure does not restart; fail-fast sees a clean end) */
  successExitCodes: number[];
  /** consecutive failed runs before FATAL; 0 = never give up */
  maxRestarts: number;
  /** run as this user / group, as written (name or id); null = sup's own. Resolved at spawn. */
  user: string | number | null;
  group: string | number | null;
  umask: number | null;
  nice: number | null;
  /** only the limits the config sets; the rest are inherited */
  limits: Limits;
  /** the tree's memory cap in bytes (enforced elsewhere); null = none */
  maxMemoryBytes: number | null;
  /** how sup knows it is up (null: up after startsecs) */
  ready: Check | null;
  /** liveness while RUNNING (null: none) */
  health: Check | null;
  /** what must hold before it starts (instances expanded to NAME.1 … NAME.N) */
  dependsOn: Dependency[];
  /** false: stays STOPPED ("not started") until `start` */
  autostart: boolean;
  /** the [companions.X] name this runs from: X itself, or X for the instances X.1 … X.N */
  base: string;
  /** 1..N with `instances = N` (N > 1), null without */
  instance: number | null;
  /** stable hash of what shapes the process (command, cwd, env, outputs, user, group, umask,
   *  nice, limits): a change restarts it at reread */
  hash: string;
  /** stable hash of everything else (timings, policy, sinks): a change is applied in place */
  policyHash: string;
}

export interface SupConfig {
  /** absolute path of the file this came from */
  file: string;
  dir: string;
  socket: string;
  /** socket_group: the control socket is mode 0660 and owned by this gid (null: 0600) */
  socketGid: number | null;
  /** a second, read-only socket (mode 0666): status, info, version, wait, logs, events, metrics */
  statusSocket: string | null;
  /** where manual stops and counters are kept across restarts of sup (null: only across manager respawns) */
  stateFile: string | null;
  /** "host:port" of the HTTP listener for GET /metrics, or null */
  metrics: string | null;
  /** null: slowest stop_timeout + 5 s */
  gracefulTimeoutMs: number | null;
  failFast: boolean;
  companions: CompanionSpec[];
}

/** contract §3: letters, digits, "-", "_", "."; not starting with "-" (it would read as a flag) or "." */
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
