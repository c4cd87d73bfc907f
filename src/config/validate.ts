// Turns a parsed TOML object into a SupConfig, or into every problem at once, each with its key
// path and, when the source text is given, its line. Pure: no file access.
import { createHash } from "node:crypto";
import { distance } from "../did-you-mean.ts";
import { isAbsolute, resolve } from "node:path";
import type { z } from "zod";
import {
  builtinDefaults,
  companionFields,
  companionOnlyFields,
  companionSchema,
  defaultsSchema,
  fileSchema,
  supSchema,
  LIMIT_KEYS,
  NAME_RE,
  type Check,
  type CompanionSpec,
  type Dependency,
  tcpTarget,
  type ErrOutput,
  type Output,
  type ResolvedDefaults,
  type SupConfig,
} from "./schema.ts";
import { findGroup, resolveIdentity, type Accounts } from "../os/users.ts";
import { companionEnv, noFiles, type EnvSource } from "./env.ts";

/**
 * A failed result whose every problem is about this machine (`user` / `group` unknown, or sup not
 * root) carries `machineOnly`: the config the file describes. `sup run` refuses it all the same;
 * `sup check` reports those problems as the machine's (exit 1), not the file's (exit 2).
 */
export type ConfigResult = { ok: true; config: SupConfig } | { ok: false; problems: string[]; machineOnly?: SupConfig };

/** Max bytes of a Unix socket path that every client can connect to (sun_path is 108 with NUL). */
export const MAX_SOCKET_PATH = 107;

/**
 * What validation may know of the machine, handed in so that validation stays pure: whether sup
 * runs as (root or not), and the accounts (read only when a companion names a user or group). Without
 * it, `user` and `group` are checked for their form only.
 */
export interface SystemView {
  /** sup's own uid: only root (0) may run companions as another user or group */
  uid: number;
  accounts: () => Accounts;
  /** `sup ctl scale`: instance counts that override the file's, by companion name */
  instances?: Readonly<Record<string, number>>;
}

/** `envSource`: sup's own environment and the env files' text (contract §3 interpolation) */
export function validateConfig(raw: unknown, file: string, text?: string, system?: SystemView, envSource: EnvSource = noFiles()): ConfigResult {
  const dir = resolve(file, "..");
  const lines = text === undefined ? undefined : keyLines(text);
  /** every problem with its line (Infinity: none known), sorted by line at the end */
  const found: { text: string; line: number; machine: boolean }[] = [];
  let machine = false;
  const report = (path: (string | number)[], message: string) => {
    const key = path.join(".");
    const line = lines && findLine(lines, path);
    found.push({ text: `${key || "(file)"}: ${message}${line ? ` (${file}:${line})` : ""}`, line: line ?? Infinity, machine });
  };
  const reportZod = (prefix: (string | number)[], err: z.ZodError) => {
    for (const issue of err.issues) {
      const path = [...prefix, ...(issue.path as (string | number)[])];
      let message = issue.message;
      if (issue.code === "unrecognized_keys") {
        for (const k of issue.keys) report([...path, k], unknownKey(path, k, path.length === 0 ? (raw as Record<string, unknown>)[k] : undefined));
        continue;
      }
      if (issue.code === "invalid_type" && /received undefined/.test(message)) message = "is required";
      report(path, message);
    }
  };

  // each section is checked on its own, so that one bad section hides no other problem
  const top = fileSchema.safeParse(raw);
  if (!top.success) reportZod([], top.error);
  const plain = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const sections = (top.success ? top.data : typeof raw === "object" && raw ? raw : {}) as Record<string, unknown>;
  const supParsed = supSchema.safeParse(sections.sup ?? {});
  if (!supParsed.success) reportZod(["sup"], supParsed.error);
  const sup = supParsed.success ? supParsed.data : {};
  const defaultsParsed = defaultsSchema.safeParse(sections.defaults ?? {});
  if (!defaultsParsed.success) reportZod(["defaults"], defaultsParsed.error);
  const defaults = { ...builtinDefaults, ...(defaultsParsed.success ? defaultsParsed.data : {}) } as ResolvedDefaults;
  /** problems of [defaults] keys that every companion inherits are reported once */
  const reported = new Set<string>();
  const reportOnce = (path: (string | number)[], message: string) => {
    const key = `${path.join(".")}\0${message}`;
    if (!reported.has(key)) report(path, message);
    reported.add(key);
  };
  let accounts: Accounts | undefined;
  /** as root, with names that exist: `user` / `group` as written in the companion's table (else [defaults]) */
  const checkIdentity = (path: string[], ownUser: string | number | undefined, ownGroup: string | number | undefined) => {
    if (!system) return;
    const user = ownUser ?? defaults.user;
    const group = ownGroup ?? defaults.group;
    if (user === null && group === null) return;
    // where the key was written: the companion's own table, else [defaults]
    const at = (key: "user" | "group") => ((key === "user" ? ownUser : ownGroup) !== undefined ? [...path, key] : ["defaults", key]);
    machine = true;
    if (system.uid !== 0) {
      const key = user !== null ? "user" : "group";
      reportOnce(at(key), `sup runs as uid ${system.uid}, not root: it cannot run companions as another ${key}`);
    } else {
      const id = resolveIdentity((accounts ??= system.accounts()), user, group);
      if (!id.ok) reportOnce(at(id.key), id.message);
    }
    machine = false;
  };
  // a misspelt top-level table ([supp], [companion.web]) hides no problem of the companions
  const companionTables = plain(sections.companions) ? sections.companions : {};

  const names = Object.keys(companionTables);
  if (lines) {
    const at = headerLines(lines);
    const line = (n: string) => at.get(n) ?? Number.MAX_SAFE_INTEGER;
    names.sort((a, b) => line(a) - line(b));
  }
  const companions: CompanionSpec[] = [];
  for (const name of names) {
    const path = ["companions", name];
    if (!NAME_RE.test(name)) {
      report(path, `invalid companion name ${JSON.stringify(name)}: use letters, digits, "-", "_" and ".", not starting with "-" or "."`);
      continue;
    }
    if (name === "all") {
      report(path, `the name "all" is reserved (sup ctl start all means every companion)`);
      continue;
    }
    const table = companionTables[name];
    const parsed = companionSchema.safeParse(table);
    if (system) {
      // checked even when other keys of the table are bad: every problem is reported at once
      const own = (key: "user" | "group") => {
        const v = parsed.success ? parsed.data[key] : typeof table === "object" && table ? (table as Record<string, unknown>)[key] : undefined;
        return typeof v === "string" || typeof v === "number" ? v : undefined;
      };
      checkIdentity(path, own("user"), own("group"));
    }
    if (!parsed.success) {
      reportZod(path, parsed.error);
      continue;
    }
    const c = { ...defaults, ...parsed.data };
    // a key the companion does not set comes from [defaults]: its problems are reported there, once
    const where = (key: string) => (parsed.data[key as keyof typeof parsed.data] !== undefined ? [...path, key] : ["defaults", key]);
    // instances = N (contract §12): NAME.1 … NAME.N, each with its SUP_INSTANCE; problems said once
    const count = system?.instances?.[name] ?? c.instances;
    for (let i = 1; i <= count; i++) {
    // a group stays a group when scaled to 1: web.1 keeps its name, "the highest numbers stop"
    const instance = count > 1 || c.instances > 1 || system?.instances?.[name] !== undefined ? i : null;
    const base = name;
    const name_ = instance === null ? name : `${name}.${i}`;
    const built = companionEnv(
      { name: name_, ...(instance !== null ? { instance } : {}), dir, defaultsEnv: defaults.env, envFiles: c.env_file, envFilesAt: where("env_file"), env: parsed.data.env ?? {}, envAt: [...path, "env"] },
      envSource,
    );
    const { env, expand } = built;
    const spec: Omit<CompanionSpec, "hash" | "policyHash"> = {
      name: name_,
      base,
      instance,
      command: c.command,
      // a string command is left to the shell, which expands it with the companion's env
      argv: typeof c.command === "string" ? shellArgv(c.command) : c.command.map((a, i) => expand(a, [...path, "command", i])),
      startsecsMs: ms(c.startsecs),
      restart: c.restart,
      restartDelayMs: ms(c.restart_delay),
      backoff: c.backoff,
      maxRestartDelayMs: ms(c.max_restart_delay),
      stopSignal: c.stop_signal,
      stopTimeoutMs: ms(c.stop_timeout),
      // a restart's stop waits as long as a stop unless said otherwise (contract §3)
      reloadTimeoutMs: ms(c.reload_timeout ?? c.stop_timeout),
      autostart: c.autostart,
      ready: expandCheck(parsed.data.ready ?? null, [...path, "ready"], expand, report),
      health: expandCheck(parsed.data.health ?? null, [...path, "health"], expand, report),
      dependsOn: parsed.data.depends_on ?? [],
      stdout: output(expand(c.stdout, where("stdout")), dir) as Output,
      stderr: c.stderr === "stdout" ? { kind: "stdout" } : output(expand(c.stderr, where("stderr")), dir),
      cwd: resolve(dir, expand(c.cwd, where("cwd"))),
      env,
      essential: c.essential,
      successExitCodes: c.success_exit_codes,
      maxRestarts: c.max_restarts,
      user: c.user,
      group: c.group,
      umask: c.umask,
      nice: c.nice,
      // per limit, like env: [defaults].limits < the companion's
      limits: { ...defaults.limits, ...(parsed.data.limits ?? {}) },
      maxMemoryBytes: c.max_memory,
      log: {
        console: c.log_console,
        file: c.log_file === null ? null : resolve(dir, expand(c.log_file, where("log_file")).replaceAll("{name}", name_)),
        maxBytes: c.log_max_bytes,
        backups: c.log_backups,
        timestamps: c.log_timestamps,
        format: c.log_format,
      },
    };
    // env, env files and every ${...} expanded above
    for (const p of built.problems) (p.path[0] === "defaults" || i > 1 ? reportOnce : report)(p.path, p.message);
    if (spec.stdout.kind === "file" && spec.stderr.kind === "file" && spec.stdout.path === spec.stderr.path) {
      // two fds appending to one file interleave fine, but say what is meant
      spec.stderr = { kind: "stdout" };
    }
    if (i === 1) checkProbes(spec, path, report);
    companions.push({ ...spec, hash: hashSpec(spec), policyHash: policyHash(spec) });
    }
  }
  resolveDependencies(companions, report);
  // names are unique also after instance expansion: [companions."web.1"] beside web with instances
  const seen = new Set<string>();
  for (const c of companions) {
    if (seen.has(c.name)) report(["companions", c.base], `duplicate companion name ${c.name} (instances of ${c.base} are named ${c.base}.1 … ${c.base}.N)`);
    seen.add(c.name);
  }

  const socket = resolve(dir, sup.socket ?? "sup.sock");
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    report(["sup", "socket"], `socket path is ${Buffer.byteLength(socket)} bytes, more than the ${MAX_SOCKET_PATH} a Unix socket allows: ${socket}`);
  }
  const statusSocket = sup.status_socket === undefined ? null : resolve(dir, sup.status_socket);
  if (statusSocket !== null && Buffer.byteLength(statusSocket) > MAX_SOCKET_PATH) {
    report(["sup", "status_socket"], `socket path is ${Buffer.byteLength(statusSocket)} bytes, more than the ${MAX_SOCKET_PATH} a Unix socket allows: ${statusSocket}`);
  }
  if (statusSocket !== null && statusSocket === socket) report(["sup", "status_socket"], "must differ from [sup] socket");
  let socketGid: number | null = null;
  if (sup.socket_group !== undefined) {
    if (typeof sup.socket_group === "number") socketGid = sup.socket_group;
    else if (/^\d+$/.test(sup.socket_group)) socketGid = Number(sup.socket_group);
    else if (system) {
      const g = findGroup(system.accounts(), sup.socket_group);
      if (g) socketGid = g.gid;
      else report(["sup", "socket_group"], `unknown group ${JSON.stringify(sup.socket_group)} (not in /etc/group)`);
    }
  }
  found.sort((a, b) => a.line - b.line);
  const problems = found.map((p) => p.text);
  const config: SupConfig = {
    file,
    dir,
    socket,
    socketGid,
    statusSocket,
    stateFile: sup.state_file === undefined ? null : resolve(dir, sup.state_file),
    metrics: sup.metrics ?? null,
    gracefulTimeoutMs: sup.graceful_timeout === undefined ? null : ms(sup.graceful_timeout),
    failFast: sup.fail_fast ?? false,
    companions,
  };
  if (found.some((p) => !p.machine)) return { ok: false, problems };
  if (found.length) return { ok: false, problems, machineOnly: config };
  return { ok: true, config };
}

/**
 * The arbiter's total stop budget (ms): graceful_timeout, else the slowest chain of stop timeouts
 * + 5 s. A chain is a path along depends_on: a companion stops only after its dependents are gone
 * (contract §2, §9), so its stop can take their stop time plus its own.
 */
export function gracefulBudgetMs(config: SupConfig): number {
  if (config.gracefulTimeoutMs !== null) return config.gracefulTimeoutMs;
  const own = new Map(config.companions.map((c) => [c.name, Math.max(c.stopTimeoutMs, c.reloadTimeoutMs)]));
  const dependents = new Map<string, string[]>();
  for (const c of config.companions) for (const d of c.dependsOn) dependents.set(d.name, [...(dependents.get(d.name) ?? []), c.name]);
  const chain = new Map<string, number>();
  const longest = (name: string, depth: number): number => {
    const known = chain.get(name);
    if (known !== undefined) return known;
    if (depth > config.companions.length) return 0; // a cycle (validation refuses them): no chain
    const after = Math.max(0, ...(dependents.get(name) ?? []).map((d) => longest(d, depth + 1)));
    const total = (own.get(name) ?? 0) + after;
    chain.set(name, total);
    return total;
  };
  const slowest = Math.max(0, ...config.companions.map((c) => longest(c.name, 0)));
  return Math.min(slowest + 5000, Number.MAX_SAFE_INTEGER);
}

type Report = (path: (string | number)[], message: string) => void;

/**
 * `${VAR}` in a check's URL, "host:port" and exec argv, expanded like the command's (SUP_INSTANCE
 * gives each instance its own port). A string exec is left to the shell, which has the env.
 */
function expandCheck(check: Check | null, path: (string | number)[], expand: (v: string, at: (string | number)[]) => string, report: Report): Check | null {
  if (!check) return null;
  const p = check.probe;
  if (p.kind === "http") return { ...check, probe: { ...p, url: expand(p.url, [...path, "http"]) } };
  if (p.kind === "exec" && !(p.argv[0] === "/bin/sh" && p.argv[1] === "-c")) return { ...check, probe: { ...p, argv: p.argv.map((a, i) => expand(a, [...path, "exec", i])) } };
  if (p.kind === "tcp" && p.raw !== undefined) {
    const t = tcpTarget(expand(p.raw, [...path, "tcp"]));
    if (typeof t === "string") {
      report([...path, "tcp"], `${t} (after expanding ${p.raw})`);
      return check;
    }
    return { ...check, probe: { kind: "tcp", ...t } };
  }
  return check;
}

/** what a check needs of the rest of the companion's settings */
function checkProbes(spec: Omit<CompanionSpec, "hash" | "policyHash">, path: string[], report: Report): void {
  if (spec.health?.probe.kind === "watchdog" && spec.ready?.probe.kind !== "notify") {
    report([...path, "health", "watchdog"], "needs ready = { notify = true } (the companion sends WATCHDOG=1 over sd_notify)");
  }
  if (spec.ready?.probe.kind === "log" && spec.stdout.kind !== "capture" && spec.stderr.kind !== "capture") {
    report([...path, "ready", "log"], 'needs captured output: stdout or stderr = "capture" (the default)');
  }
}

/**
 * depends_on names known companions (a name with instances means all of them, NAME.1 … NAME.N)
 * and no chain leads back to where it started. Rewrites each spec's dependsOn to instance names.
 */
function resolveDependencies(companions: CompanionSpec[], report: Report): void {
  const byBase = new Map<string, string[]>();
  for (const c of companions) byBase.set(c.base, [...(byBase.get(c.base) ?? []), c.name]);
  const names = new Set(companions.map((c) => c.name));
  const reported = new Set<string>();
  for (const c of companions) {
    const out: Dependency[] = [];
    for (const d of c.dependsOn) {
      const targets = byBase.get(d.name) ?? (names.has(d.name) ? [d.name] : null);
      if (!targets) {
        const key = `${c.base}\0${d.name}`;
        if (!reported.has(key)) {
          report(["companions", c.base, "depends_on"], `unknown companion ${JSON.stringify(d.name)}${quoted(nearest(d.name, [...byBase.keys()]))}`);
        }
        reported.add(key);
        continue;
      }
      const target = companions.find((x) => x.name === targets[0]);
      if (d.condition === "completed" && target?.restart === "always" && !reported.has(`always\0${c.base}\0${d.name}`)) {
        reported.add(`always\0${c.base}\0${d.name}`);
        report(["companions", c.base, "depends_on"], `${d.name} has restart = "always": it never completes (a one-shot needs restart = "never" or "on-failure")`);
      }
      for (const t of targets) if (!out.some((o) => o.name === t)) out.push({ name: t, condition: d.condition });
    }
    c.dependsOn = out;
  }
  // a cycle: depth-first, each cycle reported once at the first companion met on it
  const spec = new Map(companions.map((c) => [c.name, c]));
  const state = new Map<string, 1 | 2>(); // 1: on the path, 2: done
  const path: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 1);
    path.push(name);
    for (const d of spec.get(name)?.dependsOn ?? []) {
      const s = state.get(d.name);
      if (s === 1) {
        const loop = [...path.slice(path.indexOf(d.name)), d.name];
        const base = spec.get(loop[0]!)!.base;
        if (!reported.has(`cycle\0${base}`)) report(["companions", base, "depends_on"], `dependency cycle: ${loop.join(" -> ")}`);
        reported.add(`cycle\0${base}`);
      } else if (s === undefined) visit(d.name);
    }
    path.pop();
    state.set(name, 2);
  };
  for (const c of companions) if (!state.has(c.name)) visit(c.name);
}

/** shell reserved words and builtins: a string command that starts with one runs with /bin/sh -c */
export const SHELL_WORDS = new Set(
  ("exit return cd export exec eval set unset trap wait read ulimit umask source . : shift alias unalias readonly times type " +
    "command break continue if while for case until { ! [ test echo printf kill pwd true false getopts hash jobs fc bg fg local")
    .split(" "),
);

/**
 * A string command runs with /bin/sh -c, except a plain "program arg arg" with no shell syntax
 * at all: that is exec'd directly, so signals reach the program itself, no shell process sits
 * in between, and a missing program is FATAL ("command not found") instead of a crash loop.
 */
export function shellArgv(command: string): string[] {
  const words = command.trim().split(/\s+/);
  const plain = /^[A-Za-z0-9_@%+=:,.\/ -]+$/.test(command.trim()) && !words[0]!.includes("=") && !SHELL_WORDS.has(words[0]!);
  return plain ? words : ["/bin/sh", "-c", command];
}

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

function output(value: string, dir: string): ErrOutput {
  if (value === "capture") return { kind: "capture" };
  if (value === "inherit") return { kind: "inherit" };
  if (value === "null") return { kind: "null" };
  return { kind: "file", path: isAbsolute(value) ? value : resolve(dir, value) };
}

/** the keys that shape a companion's process (contract §3): a change restarts it at reread */
const SHAPING = ["command", "argv", "cwd", "env", "stdout", "stderr", "user", "group", "umask", "nice", "limits"] as const;

/** hash of what shapes the process: the identity reread compares to decide a restart */
export function hashSpec(spec: Omit<CompanionSpec, "hash" | "policyHash">): string {
  // a notify socket, a notification fd or a watchdog period is part of the process's environment
  const channel = spec.ready && (spec.ready.probe.kind === "notify" || spec.ready.probe.kind === "fd") ? spec.ready.probe : null;
  const watchdog = spec.health?.probe.kind === "watchdog" ? spec.health.probe.ms : null;
  return digest({ ...Object.fromEntries(SHAPING.map((k) => [k, spec[k]])), ...(channel ? { channel } : {}), ...(watchdog !== null ? { watchdog } : {}) });
}

/** hash of everything else (timings, policy, sinks, name): a change is applied in place */
export function policyHash(spec: Omit<CompanionSpec, "hash" | "policyHash">): string {
  const rest: Record<string, unknown> = { ...spec };
  for (const k of SHAPING) delete rest[k];
  return digest(rest);
}

function digest(v: unknown): string {
  return createHash("sha256").update(stableJson(v)).digest("hex").slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

const SUP_KEYS = Object.keys(supSchema.shape);
const COMPANION_KEYS = Object.keys(companionFields);
/** keys only a companion's own table takes */
const OWN_KEYS = Object.keys(companionOnlyFields);
const TABLES = ["sup", "defaults", "companions"];

/** where a key of another table belongs, in the words of the file's headers */
function home(key: string): string | undefined {
  if (SUP_KEYS.includes(key)) return "[sup]";
  if (key === "command" || OWN_KEYS.includes(key)) return "[companions.NAME]";
  if (COMPANION_KEYS.includes(key)) return "[defaults] or [companions.NAME]";
  return undefined;
}

/**
 * What to say of a key its table does not take (`path` is the table): where it belongs when
 * another table takes it, else the nearest key of its own table, else the nearest of another
 * table and where that one belongs. At the top level, a table that is not one of sup's gets the
 * nearest table name (`[companion.web]`: did you mean [companions.web]?).
 */
function unknownKey(path: (string | number)[], key: string, value: unknown): string {
  if (path.length === 0) {
    const where = home(key);
    if (where) return `belongs in ${where}`;
    const table = typeof value === "object" && value !== null && !Array.isArray(value);
    const near = nearest(key, TABLES);
    const sub = near === "companions" && table ? Object.keys(value)[0] : undefined;
    const hint = near ? ` (did you mean [${near}${sub === undefined ? "" : `.${/^[A-Za-z0-9_-]+$/.test(sub) ? sub : JSON.stringify(sub)}`}]?)` : "";
    return table ? `unknown table${hint || ": the tables are [sup], [defaults] and [companions.NAME]"}` : `unknown key${hint}`;
  }
  if (path[path.length - 1] === "limits") return `unknown key${quoted(nearest(key, LIMIT_KEYS))}`;
  const section = path[0] === "sup" ? "sup" : path[0] === "defaults" ? "defaults" : "companion";
  // a resource limit written beside the companion's keys belongs in its limits table
  if (section !== "sup" && (LIMIT_KEYS as readonly string[]).includes(key)) return `unknown key (did you mean limits = { ${key} = … }?)`;
  const own = section === "sup" ? SUP_KEYS : section === "defaults" ? COMPANION_KEYS : ["command", ...COMPANION_KEYS, ...OWN_KEYS];
  const where = home(key);
  const note = section !== "defaults" ? "" : key === "command" ? " ([defaults] takes every companion key but command)" : OWN_KEYS.includes(key) ? ` (each companion has its own ${key}; [defaults] does not take it)` : "";
  if (where) return `belongs in ${where}${note}`;
  const mine = nearest(key, own);
  if (mine) return `unknown key${quoted(mine)}`;
  const other = nearest(key, [...SUP_KEYS, "command", ...COMPANION_KEYS, ...OWN_KEYS]);
  return other ? `unknown key (did you mean "${other}"? it belongs in ${home(other)})` : "unknown key";
}

function quoted(near: string | undefined): string {
  return near ? ` (did you mean "${near}"?)` : "";
}

function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

// --- line lookup: a light scan of the TOML text, enough to point at the key a problem names.
interface KeyLine {
  table: string;
  /** the table's key parts, quotes removed ("x.y" in `[companions."x.y"]` stays one part) */
  parts: string[];
  key: string;
  line: number;
}

function keyLines(text: string): KeyLine[] {
  const out: KeyLine[] = [];
  let table = "";
  let parts: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      table = header[1]!.replace(/\s*\.\s*/g, ".").replace(/"/g, "");
      parts = splitKey(header[1]!);
      out.push({ table, parts, key: "", line: i + 1 });
      return;
    }
    const kv = /^("?)([A-Za-z0-9_.-]+)\1\s*=/.exec(line);
    if (kv) out.push({ table, parts, key: kv[2]!, line: i + 1 });
  });
  return out;
}

function findLine(lines: KeyLine[], path: (string | number)[]): number | undefined {
  const parts = path.map(String);
  // the longest table prefix that exists, then the key below it
  for (let cut = parts.length; cut >= 0; cut--) {
    const table = parts.slice(0, cut).join(".");
    const key = parts[cut];
    const hit = lines.find((l) => l.table === table && (key === undefined ? l.key === "" : l.key === key));
    if (hit) return hit.line;
    const dotted = lines.find((l) => l.table === parts.slice(0, cut - 1).join(".") && l.key === parts.slice(cut - 1).join("."));
    if (cut > 0 && dotted) return dotted.line;
  }
  // a table known only by its sub-tables: `[companion.web]` is where `companion` is
  const below = `${parts.join(".")}.`;
  return lines.find((l) => l.key === "" && l.table.startsWith(below))?.line;
}

/** the line of `path` in the TOML `text`, as validation finds it for its own problems */
export function lineOf(text: string, path: (string | number)[]): number | undefined {
  return findLine(keyLines(text), path);
}

/**
 * Companion names defined more than once in the text. The TOML parser refuses a redefined table
 * before the validator sees it ("Cannot redefine table 'web'"); this names the fault as the
 * original did: `duplicate companion name web`. A definition is a `[companions.NAME]` header, a
 * `NAME = ...` under `[companions]` or `companions.NAME = ...` at the top; the dotted keys of
 * one companion (`NAME.cwd = ...`) together are one definition; sub-tables
 * (`[companions.NAME.env]`) are none. Multi-line strings are skipped.
 */
export function duplicateCompanions(text: string): string[] {
  const sites = new Map<string, Set<string>>();
  const dups: string[] = [];
  const define = (name: string, site: string) => {
    const seen = sites.get(name) ?? new Set<string>();
    sites.set(name, seen);
    seen.add(site);
    if (seen.size === 2) dups.push(name);
  };
  let table = "";
  let openString: string | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    let line = raw.trim();
    if (openString) {
      const end = line.indexOf(openString);
      if (end < 0) return;
      line = line.slice(end + 3).trim();
      openString = null;
    }
    if (line.startsWith("[[")) return;
    const header = /^\[([^\]]+)\]/.exec(line);
    if (header) {
      const parts = splitKey(header[1]!);
      table = parts.join("\0");
      if (parts.length === 2 && parts[0] === "companions") define(parts[1]!, `line ${i}`);
      return;
    }
    const kv = /^((?:"[^"]*"|'[^']*'|[^\s="'.]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[^\s="'.]+))*)\s*=\s*(.*)$/.exec(line);
    if (!kv) return;
    const key = splitKey(kv[1]!);
    const multi = /^("""|''')/.exec(kv[2]!);
    if (multi && !kv[2]!.slice(3).includes(multi[1]!)) openString = multi[1]!;
    const [under, rest] = table === "companions" ? [key, 0] : table === "" && key[0] === "companions" ? [key.slice(1), 1] : [[], 0];
    if (under.length) define(under[0]!, under.length > 1 ? `dotted ${rest}` : `line ${i}`);
  });
  return dups;
}

/** `a."b.c" . d` -> ["a", "b.c", "d"] */
function splitKey(key: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|([^."'\s]+))\s*\.?/gy;
  for (let m = re.exec(key); m && m[0] !== ""; m = re.exec(key)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** the line where each companion is first named: [companions.NAME] or NAME = { ... } under [companions] */
function headerLines(lines: KeyLine[]): Map<string, number> {
  const at = new Map<string, number>();
  for (const l of lines) {
    const name = l.parts[0] === "companions" && l.parts.length > 1 && l.key === "" ? l.parts[1]! : l.table === "companions" ? l.key : undefined;
    if (name !== undefined && !at.has(name)) at.set(name, l.line);
  }
  return at;
}
