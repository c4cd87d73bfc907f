// Tree membership: which processes belong to a companion's run, also after setsid(), a double
// fork or a daemonizing program, so that stop, SIGKILL, the main process's exit and the end of
// sup reach all of them, and status can count what they cost. Two modes (contract §10):
// - cgroup: each run in its own cgroup v2 folder below sup's, joined before its first
//   instruction (Bun.spawn's `cgroup`), killed through cgroup.kill; nothing escapes it.
// - marker: each run's environment carries SUP_TREE=<instance>/<name>/<run>; sup is a child
//   subreaper, so a descendant whose parent dies is re-parented to sup, never to PID 1. A run's
//   tree is its main process's descendants plus the re-parented orphans that carry its marker
//   (and their descendants). Limit: an orphan that scrubbed its environment cannot be told
//   apart; it stays under sup and is killed when sup ends (see README "Containment").
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { cgroupCpu, cgroupKill, cgroupProcs, makeCgroup, makeSupCgroup, populated, removeCgroup } from "./cgroup.ts";
import { reap } from "../os/libc.ts";
import { childrenOf, descendants, envOf, procInfo, usageOf } from "../os/proc.ts";

export type Mode = "cgroup" | "marker";

/** the environment variable that marks every process of a run */
export const MARKER_ENV = "SUP_TREE";

/** a run of a companion: one spawn, its cgroup (if any) and its marker */
export interface Run {
  name: string;
  marker: string;
  cgroup: string | null;
  /** wall ms of the spawn, for cpu_percent since the start */
  startedAt: number;
  last: { at: number; cpu: number; sample: Sample } | null;
  /** marker mode: every process seen in the tree (pid -> start time), so that one which later
   *  loses its parent and had scrubbed its environment is still known as the run's */
  seen: Map<number, number>;
}

/** what a run costs now: live processes, CPU (percent of one core), resident memory (bytes) */
export interface Sample {
  processes: number;
  cpuPercent: number;
  rssBytes: number;
  /** total CPU seconds of the run so far (dead descendants included where the mode can see them) */
  cpuSeconds: number;
}

/** samples are reused for this long (ms): status costs nothing extra when asked in a burst */
const SAMPLE_TTL_MS = 1000;

export class Containment {
  readonly mode: Mode;
  /** sup's own cgroup folder (cgroup mode) */
  readonly root: string | null;
  private readonly runs = new Map<number, Run>();
  private counter = 0;

  /**
   * `instance` names this sup (unique per arbiter); `want` forces a mode ("marker" always
   * works; "cgroup" falls back to marker where no cgroup can be made; undefined: the best one).
   */
  constructor(
    readonly instance: string,
    want?: string,
  ) {
    this.root = want === "marker" ? null : makeSupCgroup(`sup.${instance}`);
    this.mode = this.root ? "cgroup" : "marker";
    if (this.root) sweepStale(dirname(this.root));
  }

  /** before a spawn: the environment to add and the cgroup to start in (created now) */
  prepare(name: string): Run {
    const run = ++this.counter;
    let cgroup: string | null = null;
    if (this.root) {
      const dir = join(this.root, `${run}.${name}`);
      try {
        makeCgroup(dir);
        cgroup = dir;
      } catch {
        // cannot make this one (a shortage): the marker still finds the tree
      }
    }
    return { name, marker: `${this.instance}/${name}/${run}`, cgroup, startedAt: Date.now(), last: null, seen: new Map() };
  }

  env(run: Run): Record<string, string> {
    return { [MARKER_ENV]: run.marker };
  }

  /** the marker of the run whose main process is `pid` */
  markerOf(pid: number): string | null {
    return this.runs.get(pid)?.marker ?? null;
  }

  /** the spawn succeeded: `pid` is the run's main process */
  adopt(pid: number, run: Run): void {
    this.runs.set(pid, run);
  }

  /** the spawn failed: forget the run */
  abandon(run: Run): void {
    if (run.cgroup) removeCgroup(run.cgroup);
  }

  /** live processes of the run whose main process is (or was) `pid`, main included while alive */
  members(pid: number): number[] {
    const run = this.runs.get(pid);
    if (!run) return alive(pid) ? [pid, ...descendants([pid]).filter(alive)] : [];
    if (run.cgroup) return cgroupProcs(run.cgroup).filter(alive);
    const roots = [...(alive(pid) ? [pid] : []), ...this.orphansOf(run), ...this.seenOrphans(run)];
    const out: number[] = [];
    for (const p of new Set([...roots, ...descendants(roots)])) {
      const info = procInfo(p);
      if (!info || info.state === "Z" || info.state === "X") continue;
      out.push(p);
      if (run.seen.size < 10_000) run.seen.set(p, info.start);
    }
    return out;
  }

  /** processes seen in the run before that are now sup's children (their parent died): same pid and start time */
  private seenOrphans(run: Run): number[] {
    const out: number[] = [];
    for (const [p, start] of run.seen) {
      const info = procInfo(p);
      if (!info || info.start !== start) run.seen.delete(p);
      else if (info.ppid === process.pid && !this.runs.has(p)) out.push(p);
    }
    return out;
  }

  /** sup's children that are no run's main process and carry `run`'s marker */
  private orphansOf(run: Run): number[] {
    const out: number[] = [];
    for (const p of childrenOf(process.pid)) {
      if (this.runs.has(p.pid) || p.state === "Z") continue;
      if (envOf(p.pid, MARKER_ENV) === run.marker) out.push(p.pid);
    }
    return out;
  }

  /**
   * Deliver `signal` once to every process of the run: to the main process's group with one
   * kill(-pgid), and to each member outside that group (escaped by setsid/setpgid) on its own.
   * Returns the members.
   */
  signal(pid: number, signal: NodeJS.Signals | number): number[] {
    const run = this.runs.get(pid);
    if (run?.cgroup && (signal === "SIGKILL" || signal === 9) && cgroupKill(run.cgroup)) return cgroupProcs(run.cgroup);
    const pids = this.members(pid);
    let grouped = true;
    try {
      process.kill(-pid, signal);
    } catch {
      grouped = false; // the main process left its own group (or is gone): reach each member
    }
    for (const p of pids) {
      if (grouped && procInfo(p)?.pgid === pid) continue;
      try {
        process.kill(p, signal);
      } catch {}
    }
    return pids;
  }

  /**
   * The main process `pid` has exited: SIGKILL what is left of its tree (retrying while a
   * fork races the kill) and forget the run once empty. Returns what was killed, for the log.
   */
  mainExited(pid: number): { pid: number; comm: string }[] {
    const run = this.runs.get(pid);
    const killed = new Map<number, string>();
    for (let round = 0; round < 20; round++) {
      const left = this.members(pid).filter((p) => p !== pid);
      try {
        process.kill(-pid, "SIGKILL");
      } catch {}
      if (!left.length) break;
      for (const p of left) if (!killed.has(p)) killed.set(p, usageOf(p)?.comm ?? "?");
      if (run?.cgroup && cgroupKill(run.cgroup)) break;
      for (const p of left) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
    }
    this.runs.delete(pid);
    this.reapOrphans();
    if (run?.cgroup) this.release(run.cgroup);
    return [...killed].map(([p, comm]) => ({ pid: p, comm }));
  }

  /** rmdir a run's cgroup once its last process is gone (at most a few seconds of retries) */
  private release(dir: string, tries = 0): void {
    if (!populated(dir) && removeCgroup(dir)) return;
    if (tries < 50) setTimeout(() => this.release(dir, tries + 1), 100).unref?.();
  }

  /** reap orphans re-parented to sup (subreaper) that have exited; never a run's main process (Bun reaps those) */
  reapOrphans(): void {
    for (const p of childrenOf(process.pid)) {
      if (p.state === "Z" && !this.runs.has(p.pid)) reap(p.pid);
    }
  }

  /** what the run of main process `pid` costs now (reused for SAMPLE_TTL_MS), or null without one */
  sample(pid: number): Sample | null {
    const run = this.runs.get(pid);
    if (!run) return null;
    const now = Date.now();
    if (run.last && now - run.last.at < SAMPLE_TTL_MS) return run.last.sample;
    const pids = this.members(pid);
    let rss = 0;
    let cpu = 0;
    for (const p of pids) {
      const u = usageOf(p);
      if (!u) continue;
      rss += u.rssBytes;
      cpu += u.cpu + (p === pid ? u.childCpu : 0);
    }
    if (run.cgroup) cpu = cgroupCpu(run.cgroup) ?? cpu;
    const since = run.last ?? { at: run.startedAt, cpu: 0 };
    const wall = Math.max(1, now - since.at) / 1000;
    const sample: Sample = {
      processes: pids.length,
      cpuPercent: Math.max(0, Math.round(((cpu - since.cpu) / wall) * 1000) / 10),
      rssBytes: rss,
      cpuSeconds: cpu,
    };
    run.last = { at: now, cpu, sample };
    return sample;
  }

  /**
   * sup is ending: SIGKILL every process left below it (runs, orphans, unattributed escapees)
   * and wait for them, at most `waitMs`; remove sup's cgroups.
   */
  async killEverything(waitMs = 2000): Promise<void> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      if (this.root) cgroupKill(this.root);
      const left = descendants([process.pid]).filter(alive);
      for (const p of left) {
        try {
          process.kill(p, "SIGKILL");
        } catch {}
      }
      this.reapOrphans();
      if ((!left.length && !(this.root && populated(this.root))) || performance.now() > deadline) break;
      await Bun.sleep(10);
    }
    if (this.root) removeCgroupTree(this.root);
  }
}

/** a process that is running (not a zombie, not gone) */
function alive(pid: number): boolean {
  const p = procInfo(pid);
  return p !== null && p.state !== "Z" && p.state !== "X";
}

/** rmdir sup's cgroup folder and the runs' folders in it (all empty by now) */
export function removeCgroupTree(root: string): void {
  try {
    for (const d of readdirSync(root, { withFileTypes: true })) {
      if (d.isDirectory()) removeCgroup(join(root, d.name));
    }
  } catch {}
  removeCgroup(root);
}

/**
 * Remove the empty cgroup folders of sups whose arbiter is gone (`sup.<pid>-<id>`, left when
 * arbiter and manager were both SIGKILLed). A folder that still holds a process is left alone.
 */
function sweepStale(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => /^sup\.\d+-[0-9a-f]+$/.test(n));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.slice(4, n.indexOf("-")));
    if (procInfo(pid) !== null) continue;
    const dir = join(parent, n);
    if (!populated(dir)) removeCgroupTree(dir);
  }
}
