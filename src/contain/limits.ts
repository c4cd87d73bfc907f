// What a companion's process must have in force before its own code runs and Bun.spawn cannot
// set by itself: resource limits (the operator's RLIMIT_NOFILE among them), user, groups, umask
// and nice (contract §10). Applied around the spawn (the child inherits them at fork), or by an
// exec trampoline (`sup __exec`) where a change could not be undone in the manager, would harm
// it for the moment of the spawn, or where Bun.spawn cannot express it (supplementary groups).
import { accessSync, constants, readFileSync, statSync, writeSync } from "node:fs";
import { delimiter, resolve } from "node:path";
import type { CompanionSpec, LimitName, LimitPair } from "../config/schema.ts";
import { withSoftNofile, FD_RESERVE, type FdBudget } from "../os/fds.ts";
import { clearSignalMask, defaultSignals, execve, getNice, getRlimit, lastError, RLIMIT, setGroups, setIds, setNice, setRlimit } from "../os/libc.ts";
import { selfCommand } from "../os/self.ts";
import { resolveIdentity, systemAccounts, type Identity } from "../os/users.ts";
import { SpawnError } from "../manager/host.ts";

/** what Bun.spawn is asked for: the argv to run (a trampoline may wrap it), and uid/gid */
export interface SpawnShape {
  argv: string[];
  uid?: number;
  gid?: number;
}

export interface LimitsContext {
  /** the soft RLIMIT_NOFILE sup was started with (null: unknown) */
  operatorNofile: number | null;
  fds: FdBudget;
  warn: (message: string) => void;
}

/** the hidden subcommand of the trampoline */
export const EXEC_COMMAND = "__exec";

let warnedNofile = false;

/**
 * Run `spawn` (which calls Bun.spawn with the given shape) so that the child starts with
 * `spec`'s limits in force. Returns what `spawn` returned; throws what it throws, and a
 * SpawnError when a setting cannot be applied on this machine (unknown user, no root).
 */
export function withLimits<T>(spec: CompanionSpec, ctx: LimitsContext, spawn: (shape: SpawnShape) => T): T {
  if (!shapesProcess(spec)) return withOperatorNofile(spec, ctx, () => spawn({ argv: spec.argv }));
  const uid = process.getuid?.() ?? 0;
  let id: Identity = {};
  if (spec.user !== null || spec.group !== null) {
    if (uid !== 0) throw new SpawnError(`sup runs as uid ${uid}, not root: cannot run as ${spec.user !== null ? `user ${spec.user}` : `group ${spec.group}`}`);
    const r = resolveIdentity(systemAccounts(), spec.user, spec.group);
    if (!r.ok) throw new SpawnError(r.message);
    id = r.id;
  }
  const plan = planSpawn({
    limits: spec.limits,
    nice: spec.nice,
    id,
    caps: capabilities(),
    current: (k) => getRlimit(RLIMIT[k]),
    currentNice: getNice(),
    operatorNofile: ctx.operatorNofile,
    nofileSafe: (soft) => soft === Infinity || ctx.fds.limit - ctx.fds.free() + FD_RESERVE < soft,
  });
  if (!plan.ok) throw new SpawnError(plan.reason);
  const oldUmask = spec.umask === null ? null : process.umask(spec.umask);
  try {
    const t = plan.trampoline;
    if (t) {
      const path = findExecutable(spec.argv[0]!, spec.env.PATH ?? process.env.PATH ?? "", spec.cwd);
      return spawn({ argv: [...selfCommand(EXEC_COMMAND), encodeTrampoline({ ...t, path }), ...spec.argv] });
    }
    return applyAround(plan.around, (what) => ctx.warn(`warning: could not set sup's own ${what} back after spawning ${spec.name}: ${lastError()}`), () => {
      const shape: SpawnShape = { argv: spec.argv, ...(id.uid !== undefined ? { uid: id.uid } : {}), ...(id.gid !== undefined ? { gid: id.gid } : {}) };
      // an explicit limits.nofile replaces the operator's value
      return spec.limits.nofile ? spawn(shape) : withOperatorNofile(spec, ctx, () => spawn(shape));
    });
  } finally {
    if (oldUmask !== null) process.umask(oldUmask);
  }
}

let caps: PlanInput["caps"] | undefined;
/**
 * What this process may undo: raising a hard limit takes CAP_SYS_RESOURCE, raising the priority
 * CAP_SYS_NICE. Root usually has both, but not in every container (Docker drops
 * CAP_SYS_RESOURCE): read them, never assume them from the uid. Read once: they do not change.
 */
function capabilities(): PlanInput["caps"] {
  if (caps) return caps;
  let eff = 0n;
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (hex) eff = BigInt(`0x${hex}`);
  } catch {}
  const has = (bit: bigint) => ((eff >> bit) & 1n) === 1n;
  return (caps = { resource: has(24n), nice: has(23n) }); // CAP_SYS_RESOURCE, CAP_SYS_NICE
}

/** does the spec ask for anything beyond the operator's RLIMIT_NOFILE? */
function shapesProcess(spec: CompanionSpec): boolean {
  return spec.user !== null || spec.group !== null || spec.umask !== null || spec.nice !== null || Object.keys(spec.limits).length > 0;
}

/** today's path: the child gets the soft RLIMIT_NOFILE sup was started with */
function withOperatorNofile<T>(spec: CompanionSpec, ctx: LimitsContext, fn: () => T): T {
  const { value, lowered } = withSoftNofile(ctx.operatorNofile, ctx.fds, fn);
  if (!lowered && ctx.operatorNofile !== null && ctx.operatorNofile < ctx.fds.limit && !warnedNofile) {
    warnedNofile = true;
    ctx.warn(`warning: sup holds too many fds to hand companions RLIMIT_NOFILE ${ctx.operatorNofile} for now; ${spec.name} got ${ctx.fds.limit}`);
  }
  return value;
}

// ---------- the plan: pure, so every rule is unit-tested

/** limits that must not touch the manager even for the moment of a spawn: a CPU time below
 * what it has used (SIGXCPU), an address space or stack below what it maps (its own
 * allocations fail) */
const HARMFUL_AROUND: ReadonlySet<LimitName> = new Set(["as", "cpu", "stack"]);

export interface TrampolineSettings {
  limits: [LimitName, LimitPair][];
  nice?: number;
  uid?: number;
  gid?: number;
  groups?: number[];
}

export interface PlanInput {
  limits: CompanionSpec["limits"];
  nice: number | null;
  id: Identity;
  /** may this process raise a hard limit (CAP_SYS_RESOURCE) and its priority (CAP_SYS_NICE)? */
  caps: { resource: boolean; nice: boolean };
  /** this process's limit now (null: unknown) */
  current: (k: LimitName) => LimitPair | null;
  currentNice: number | null;
  operatorNofile: number | null;
  /** can the manager live with this soft RLIMIT_NOFILE while it spawns (enough fds under it)? */
  nofileSafe: (soft: number) => boolean;
}

export type Plan =
  | { ok: true; around: { limits: [LimitName, LimitPair][]; nice?: number }; trampoline: null }
  | { ok: true; around: null; trampoline: TrampolineSettings }
  | { ok: false; reason: string };

const fmt = (v: number) => (v === Infinity ? "unlimited" : String(v));

/**
 * Decide how `spec`'s settings reach the child: around the spawn (cheap, reversible, harmless
 * to the manager), or through the trampoline (a few ms per spawn). A setting this machine does
 * not allow is a reason (the spawn fails: FATAL, with that reason).
 */
export function planSpawn(p: PlanInput): Plan {
  const limits = Object.entries(p.limits) as [LimitName, LimitPair][];
  let trampoline = false;
  for (const [k, want] of limits) {
    const now = p.current(k);
    if (!now) return { ok: false, reason: `cannot set limits.${k}: resource limits are not reachable here (no libc)` };
    if (!p.caps.resource && want.hard > now.hard) {
      return { ok: false, reason: `limits.${k}: cannot raise the hard limit above ${fmt(now.hard)} without root (CAP_SYS_RESOURCE) (asked for ${fmt(want.hard)})` };
    }
    // a lowered hard limit cannot be raised again without CAP_SYS_RESOURCE; without it, nproc
    // would count against sup's own user at the fork
    if (HARMFUL_AROUND.has(k) || (!p.caps.resource && (want.hard < now.hard || k === "nproc")) || (k === "nofile" && !p.nofileSafe(want.soft))) trampoline = true;
  }
  if (p.nice !== null && p.currentNice !== null && p.nice !== p.currentNice) {
    if (!p.caps.nice && p.nice < p.currentNice) return { ok: false, reason: `nice ${p.nice}: only root (CAP_SYS_NICE) may raise the priority (sup runs at nice ${p.currentNice})` };
    // without CAP_SYS_NICE, a thread's nice value never comes back down
    if (!p.caps.nice) trampoline = true;
  }
  const nice = p.nice !== null && p.nice !== p.currentNice ? p.nice : undefined;
  // Bun.spawn sets the groups to [gid] when it switches ids: more groups need the trampoline
  const { groups, gid, uid } = p.id;
  if (groups && (groups.length !== 1 || groups[0] !== gid)) trampoline = true;
  if (!trampoline) return { ok: true, around: { limits, ...(nice !== undefined ? { nice } : {}) }, trampoline: null };
  const all = [...limits];
  // Bun raises the trampoline's own soft RLIMIT_NOFILE: hand the operator's back unless the config sets one
  if (!p.limits.nofile && p.operatorNofile !== null) {
    const now = p.current("nofile");
    if (now) all.push(["nofile", { soft: Math.min(p.operatorNofile, now.hard), hard: now.hard }]);
  }
  return {
    ok: true,
    around: null,
    trampoline: {
      limits: all,
      ...(nice !== undefined ? { nice } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      ...(groups ? { groups } : {}),
    },
  };
}

/** set the limits and nice value in this process, run fn (the spawn), set them back */
function applyAround<T>(around: { limits: [LimitName, LimitPair][]; nice?: number }, failedUndo: (what: string) => void, fn: () => T): T {
  const undo: (() => void)[] = [];
  try {
    for (const [k, want] of around.limits) {
      const old = getRlimit(RLIMIT[k])!;
      if (!setRlimit(RLIMIT[k], want)) throw new SpawnError(`cannot set limits.${k} to [${fmt(want.soft)}, ${fmt(want.hard)}]: ${lastError()}`);
      undo.push(() => setRlimit(RLIMIT[k], old) || failedUndo(`limits.${k}`));
    }
    if (around.nice !== undefined) {
      const old = getNice() ?? 0;
      if (!setNice(around.nice)) throw new SpawnError(`cannot set nice ${around.nice}: ${lastError()}`);
      undo.push(() => setNice(old) || failedUndo("nice"));
    }
    return fn();
  } finally {
    for (const u of undo.reverse()) u();
  }
}

/** where execve finds `cmd`, as Bun.spawn would look it up; an ENOENT error (command not found) if nowhere */
function findExecutable(cmd: string, path: string, cwd: string): string {
  const runnable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes("/")) {
    const p = resolve(cwd, cmd);
    if (runnable(p)) return p;
  } else {
    for (const dir of path.split(delimiter)) {
      const p = resolve(cwd, dir || ".", cmd);
      if (runnable(p)) return p;
    }
  }
  throw Object.assign(new Error(`ENOENT: no such file or directory: ${cmd}`), { code: "ENOENT" });
}

// ---------- the trampoline: `sup __exec SETTINGS ARGV...`

/** settings as one argv word; unlimited is -1 (JSON has no Infinity) */
export function encodeTrampoline(t: TrampolineSettings & { path: string }): string {
  return JSON.stringify({ ...t, limits: t.limits.map(([k, v]) => [k, v.soft === Infinity ? -1 : v.soft, v.hard === Infinity ? -1 : v.hard]) });
}

export function decodeTrampoline(word: string): TrampolineSettings & { path: string } {
  const raw = JSON.parse(word) as Omit<TrampolineSettings, "limits"> & { path: string; limits: [LimitName, number, number][] };
  const inf = (n: number) => (n < 0 ? Infinity : n);
  return { ...raw, limits: raw.limits.map(([k, s, h]): [LimitName, LimitPair] => [k, { soft: inf(s), hard: inf(h) }]) };
}

/**
 * The child side: apply the settings to this very process (limits first, while still root;
 * then nice, groups, gid, uid), give back the signal dispositions and mask Bun changed, and
 * execve the companion's program with the environment this process was given. Never returns:
 * a setting that fails is a message on the companion's stderr and exit 126 (127: no program).
 */
export function execTrampoline(args: string[]): never {
  const [word, ...argv] = args;
  const die = (code: number, what: string): never => {
    try {
      writeSync(2, `sup: cannot start ${argv[0] ?? "?"}: ${what}\n`);
    } catch {}
    process.exit(code);
  };
  if (!word || !argv.length) die(126, "usage: sup __exec SETTINGS PROGRAM [ARG...]");
  let t: ReturnType<typeof decodeTrampoline>;
  try {
    t = decodeTrampoline(word!);
  } catch (e) {
    return die(126, `bad settings: ${(e as Error).message}`);
  }
  for (const [k, v] of t.limits) if (!setRlimit(RLIMIT[k], v)) die(126, `limits.${k} [${fmt(v.soft)}, ${fmt(v.hard)}]: ${lastError()}`);
  if (t.nice !== undefined && !setNice(t.nice)) die(126, `nice ${t.nice}: ${lastError()}`);
  if (t.groups && !setGroups(t.groups)) die(126, `groups ${t.groups.join(",")}: ${lastError()}`);
  if ((t.uid !== undefined || t.gid !== undefined) && !setIds(t.uid, t.gid)) die(126, `uid ${t.uid ?? "-"} gid ${t.gid ?? "-"}: ${lastError()}`);
  defaultSignals();
  clearSignalMask();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  execve(t.path, argv, env);
  const why = lastError();
  return die(why === "ENOENT" ? 127 : 126, `${t.path}: ${why}`);
}
