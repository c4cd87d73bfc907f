// File descriptors: how many this process may open and has open, so that running out is
// foreseen (a reserve stays free for the control socket) instead of hit; and the soft
// RLIMIT_NOFILE the operator started sup with, which Bun raises for itself at start-up.
import { readdirSync, readFileSync } from "node:fs";
import { getRlimit, RLIMIT, setRlimit, type Rlimit } from "./libc.ts";

/** fds kept free for the control socket and sup's own work: spawns stop short of them */
export const FD_RESERVE = 16;

/** fds open in this process now (a readdir of /proc/self/fd, less the one it uses itself) */
export function fdsInUse(): number {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return 0;
  }
}

/**
 * Tracks how close the process is to its RLIMIT_NOFILE without counting on every call: the
 * count is refreshed when an estimate (last count + `perUse` per use since) comes within a
 * margin of the limit. `free()` is then exact near the limit and cheap far from it.
 */
export class FdBudget {
  private counted = 0;
  private usesSince = 0;

  constructor(
    readonly limit: number = getRlimit(RLIMIT.nofile)?.soft ?? Infinity,
    private readonly count: () => number = fdsInUse,
    private readonly perUse = 4,
  ) {
    this.counted = this.limit === Infinity ? 0 : count();
  }

  /** fds still free (Infinity without a limit) */
  free(): number {
    if (this.limit === Infinity) return Infinity;
    const estimate = this.counted + this.usesSince * this.perUse;
    if (this.limit - estimate > 4 * FD_RESERVE + 64) {
      return this.limit - estimate;
    }
    this.counted = this.count();
    this.usesSince = 0;
    return this.limit - this.counted;
  }

  /** one more use (a spawn, a connection) that may hold fds */
  used(): void {
    this.usesSince++;
  }
}

let shared: FdBudget | null = null;
/** the one budget of this process, shared by spawns and the control socket */
export function fdBudget(): FdBudget {
  return (shared ??= new FdBudget());
}

/**
 * The soft RLIMIT_NOFILE the operator started sup with. Bun raises its own soft limit to the
 * hard one before any of sup's code runs and keeps no public record of the old value, so it is
 * inferred: from $SUP_MANAGER_NOFILE when the arbiter handed it on (arbiter -> manager), else from the
 * parent process when it shares our hard limit (the shell that ran `ulimit -Sn 1024; sup run`),
 * else our own soft limit (nothing was raised, or the original cannot be known). Limits: a sup
 * started by `exec` from a shell that lowered only the soft limit is read as its own.
 */
export function operatorNofile(env = process.env, ppid = process.ppid): number | null {
  const given = env.SUP_MANAGER_NOFILE;
  if (given === "unlimited") return Infinity;
  if (given && Number.isFinite(Number(given))) return Number(given);
  const own = getRlimit(RLIMIT.nofile);
  if (!own) return null;
  const parent = ppid > 1 ? parentNofile(ppid) : null;
  if (parent && parent.hard === own.hard && parent.soft < own.soft) return parent.soft;
  return own.soft;
}

function parentNofile(pid: number): Rlimit | null {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const m = line && /Max open files\s+(\S+)\s+(\S+)/.exec(line);
    if (!m) return null;
    const num = (v: string) => (v === "unlimited" ? Infinity : Number(v));
    return { soft: num(m[1]!), hard: num(m[2]!) };
  } catch {
    return null;
  }
}

/**
 * Run `fn` (a spawn: the child inherits limits at fork) with the soft RLIMIT_NOFILE lowered to
 * `soft`, then raise it back. Skipped (returns false in `lowered`) when this process already has
 * too many fds open to live under that limit for the moment: the child then inherits ours.
 */
export function withSoftNofile<T>(soft: number | null, budget: FdBudget, fn: () => T): { value: T; lowered: boolean } {
  const raised = budget.limit;
  if (soft === null || !(soft < raised) || raised - budget.free() + FD_RESERVE >= soft) return { value: fn(), lowered: false };
  const hard = getRlimit(RLIMIT.nofile)?.hard ?? Infinity;
  if (!setRlimit(RLIMIT.nofile, { soft, hard })) return { value: fn(), lowered: false };
  try {
    return { value: fn(), lowered: true };
  } finally {
    setRlimit(RLIMIT.nofile, { soft: raised, hard });
  }
}
