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
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cgroupCpu, cgroupKill, cgroupProcs, makeCgroup, makeSupCgroup, populated, removeCgroup } from "./cgroup.ts";
import { reap } from "../os/libc.ts";
import { childPids, childrenOf, descendants, envOf, isRunning, procInfo, statOf, type ProcStat } from "../os/proc.ts";

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

/** the list of sup's orphans is reused for this long (ms): one status or stop-all reads it once */
const ORPHAN_TTL_MS = 50;

/** samples are reused for this long (ms): status costs nothing extra when asked in a burst */
const SAMPLE_TTL_MS = 1000;

export class Containment {
  readonly mode: Mode;
  /** sup's own cgroup folder (cgroup mode) */
  readonly root: string | null;
  private readonly runs = new Map<number, Run>();
  private orphanCache: { at: number; list: { stat: ProcStat; marker: string | null }[] } | null = null;
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

  /**
   * The run's live processes, each read once from /proc (its stat: identity and cost). cgroup:
   * the run's cgroup.procs. marker: the main process's descendants, plus sup's orphans that
   * carry the run's marker or were seen in the run before (same pid and start time), and theirs.
   */
  private collect(pid: number): ProcStat[] {
    const run = this.runs.get(pid);
    if (run?.cgroup) return cgroupProcs(run.cgroup).map(statOf).filter(isRunning);
    const main = statOf(pid);
    const roots: ProcStat[] = isRunning(main) ? [main] : [];
    if (run) {
      for (const o of this.orphans()) {
        if (o.marker === run.marker || run.seen.get(o.stat.pid) === o.stat.start) roots.push(o.stat);
      }
    }
    const out = [...roots];
    const have = new Set(out.map((p) => p.pid));
    for (const d of descendants(roots.map((r) => r.pid))) {
      if (have.has(d)) continue;
      const st = statOf(d);
      if (isRunning(st)) {
        out.push(st);
        have.add(d);
      }
    }
    if (run) {
      if (run.seen.size > 10_000) run.seen.clear();
      for (const p of out) run.seen.set(p.pid, p.start);
    }
    return out;
  }

  /**
   * sup's children that are no run's main process (orphans re-parented to the subreaper), with
   * their marker; listed once per short window, so a status of N companions reads them once.
   */
  private orphans(): { stat: ProcStat; marker: string | null }[] {
    const now = performance.now();
    if (this.orphanCache && now - this.orphanCache.at < ORPHAN_TTL_MS) return this.orphanCache.list;
    const list: { stat: ProcStat; marker: string | null }[] = [];
    for (const c of childPids(process.pid)) {
      if (this.runs.has(c)) continue;
      const st = statOf(c);
      if (isRunning(st) && st.ppid === process.pid) list.push({ stat: st, marker: envOf(c, MARKER_ENV) });
    }
    this.orphanCache = { at: now, list };
    return list;
  }

  /**
   * Deliver `signal` once to every process of the run: to the main process's group with one
   * kill(-pgid), and to each member outside that group (escaped by setsid/setpgid) on its own.
   * Returns the members.
   */
  signal(pid: number, signal: NodeJS.Signals | number): number[] {
    const run = this.runs.get(pid);
    if (run?.cgroup && (signal === "SIGKILL" || signal === 9) && cgroupKill(run.cgroup)) return cgroupProcs(run.cgroup);
    const procs = this.collect(pid);
    let grouped = true;
    try {
      process.kill(-pid, signal);
    } catch {
      grouped = false; // the main process left its own group (or is gone): reach each member
    }
    for (const p of procs) {
      if (grouped && p.pgid === pid) continue;
      quietKill(p.pid, signal);
    }
    return procs.map((p) => p.pid);
  }

  /**
   * The main process `pid` has exited: SIGKILL what is left of its tree (retrying while a
   * fork races the kill) and forget the run once empty. Returns what was killed, for the log.
   */
  mainExited(pid: number): { pid: number; comm: string }[] {
    const run = this.runs.get(pid);
    const killed = new Map<number, string>();
    for (let round = 0; round < 20; round++) {
      this.orphanCache = null; // the main process's children were just re-parented to us
      const left = this.collect(pid).filter((p) => p.pid !== pid);
      quietKill(-pid, "SIGKILL");
      if (!left.length) break;
      for (const p of left) if (!killed.has(p.pid)) killed.set(p.pid, p.comm);
      if (run?.cgroup && cgroupKill(run.cgroup)) break;
      for (const p of left) quietKill(p.pid, "SIGKILL");
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

  /** children that Bun spawned for sup itself and reaps (exec probes): never reaped here */
  private readonly helpers = new Set<number>();

  /** `pid` is a child Bun reaps (its `exited` would never resolve if sup reaped it first); call the result once it has */
  helper(pid: number): () => void {
    this.helpers.add(pid);
    return () => this.helpers.delete(pid);
  }

  /** reap orphans re-parented to sup (subreaper) that have exited; never a run's main process nor a helper (Bun reaps those) */
  reapOrphans(): void {
    for (const p of childrenOf(process.pid)) {
      if (p.state === "Z" && !this.runs.has(p.pid) && !this.helpers.has(p.pid)) reap(p.pid);
    }
  }

  /** what the run of main process `pid` costs now (reused for SAMPLE_TTL_MS), or null without one */
  sample(pid: number, force = true): Sample | null {
    const run = this.runs.get(pid);
    if (!run) return null;
    const now = Date.now();
    if (run.last && (now - run.last.at < SAMPLE_TTL_MS || !force)) return run.last.sample;
    if (!force) return null;
    const procs = this.collect(pid);
    let rss = 0;
    let cpu = 0;
    for (const u of procs) {
      rss += u.rssBytes;
      cpu += u.cpu + (u.pid === pid ? u.childCpu : 0);
    }
    if (run.cgroup) cpu = cgroupCpu(run.cgroup) ?? cpu;
    const since = run.last ?? { at: run.startedAt, cpu: 0 };
    const wall = Math.max(1, now - since.at) / 1000;
    const sample: Sample = {
      processes: procs.length,
      cpuPercent: Math.max(0, Math.round(((cpu - since.cpu) / wall) * 1000) / 10),
      rssBytes: rss,
      cpuSeconds: cpu,
    };
    run.last = { at: now, cpu, sample };
    return sample;
  }

  /**
   * Samples of many runs for one status reply, within about `budgetMs` of work: the stalest
   * samples (never taken first) are refreshed until the budget is spent; the rest keep their
   * last sample (at most a few replies old) or null. Reading /proc costs ~10-40 µs a file, so a
   * status of 1000 companions stays as cheap as before instead of ~75 ms per reply.
   */
  sampleMany(pids: number[], budgetMs: number): Map<number, Sample | null> {
    const out = new Map<number, Sample | null>();
    const age = (p: number) => this.runs.get(p)?.last?.at ?? -Infinity;
    const order = [...pids].sort((a, b) => age(a) - age(b));
    const deadline = performance.now() + budgetMs;
    for (const p of order) out.set(p, this.sample(p, performance.now() < deadline));
    return out;
  }

  /**
   * sup is ending: SIGKILL every process left below it (runs, orphans, unattributed escapees)
   * and wait for them, at most `waitMs`; remove sup's cgroups.
   */
  async killEverything(waitMs = 2000): Promise<void> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      if (this.root) cgroupKill(this.root);
      const left = descendants([process.pid]).filter((p) => isRunning(procInfo(p)));
      for (const p of left) quietKill(p, "SIGKILL");
      this.reapOrphans();
      if ((!left.length && !(this.root && populated(this.root))) || performance.now() > deadline) break;
      await Bun.sleep(10);
    }
    if (this.root) removeCgroupTree(this.root);
  }
}

/** kill(2) that does not mind a process already gone */
function quietKill(pid: number, signal: NodeJS.Signals | number): void {
  try {
    process.kill(pid, signal);
  } catch {}
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
