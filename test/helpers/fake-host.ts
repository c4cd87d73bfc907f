// A Host for loop tests: a virtual monotonic clock the test advances by hand, the one timer
// fired when the clock passes it, and a record of every spawn, signal, log line and exit.
// Nothing here touches the OS; a "process" ends only when the test says so.
import type { CompanionSpec } from "../../src/config/schema.ts";
import type { Clock } from "../../src/core/types.ts";
import { SpawnError, type Host, type OwnedGroup, type ProbeReport, type WatchMode } from "../../src/manager/host.ts";

export type OnExit = (pid: number, code: number | null, signal: string | null) => void;

export interface FakeProc {
  pid: number;
  name: string;
  spec: CompanionSpec;
  onExit: OnExit;
  /** where the run's readiness/health reports go (what the real host's channels and probes call) */
  onProbe?: (pid: number, r: ProbeReport) => void;
  /** what the loop asked the probes of this run to do, in order */
  watches: WatchMode[];
  /** virtual mono ms of the spawn */
  at: number;
  alive: boolean;
}

export interface SentSignal {
  pid: number;
  signal: string;
  group: boolean;
  at: number;
}

/** the wall clock is the virtual monotonic clock plus this: wall ms are easy to predict */
export const WALL_OFFSET = 1_700_000_000_000;

export class FakeHost implements Host {
  mono = 0;
  procs: FakeProc[] = [];
  signals: SentSignal[] = [];
  logs: string[] = [];
  /** codes passed to exit(), in order: a correct loop calls it at most once */
  exitCodes: number[] = [];
  stoppingCodes: number[] = [];
  /** process groups the loop says it owns right now */
  owned = new Map<number, OwnedGroup>();
  timerAt: number | null = null;
  private timerFn: (() => void) | null = null;
  private nextPid = 1000;
  private failing = new Map<string, { reason: string; transient: boolean }>();
  /** pids that have ended but whose exit the "OS" has not delivered yet (a stalled loop) */
  undelivered = new Set<number>();
  private exitInSpawn = new Map<string, { code: number | null; signal: string | null }>();

  // ---------- Host

  now(): Clock {
    return { mono: this.mono, wall: WALL_OFFSET + this.mono };
  }

  /** callbacks the loop asked to run "soon" (setImmediate); the test runs them with flushSoon() */
  soonQueue: (() => void)[] = [];

  soon(fn: () => void): void {
    this.soonQueue.push(fn);
  }

  /** run what the loop deferred to the end of the tick */
  flushSoon(): void {
    for (let fn; (fn = this.soonQueue.shift()); ) fn();
  }

  watch(pid: number, _spec: CompanionSpec, mode: WatchMode): void {
    this.procs.find((p) => p.pid === pid)?.watches.push(mode);
  }

  /** run `pid`'s channel reports `r` (READY=1, a probe result, STATUS=) */
  probe(pid: number, r: ProbeReport): void {
    const p = this.procs.find((x) => x.pid === pid);
    if (!p?.onProbe) throw new Error(`no probe callback for ${pid}`);
    p.onProbe(pid, r);
  }

  /** virtual ms each spawn takes (the clock moves, no timer fires): a slow host */
  spawnCost = 0;

  spawn(spec: CompanionSpec, onExit: OnExit, onProbe?: (pid: number, r: ProbeReport) => void): number {
    this.mono += this.spawnCost;
    const failure = this.failing.get(spec.name);
    if (failure !== undefined) {
      this.failing.delete(spec.name);
      throw new SpawnError(failure.reason, failure.transient);
    }
    const proc: FakeProc = { pid: this.nextPid++, name: spec.name, spec, onExit, ...(onProbe ? { onProbe } : {}), watches: [], at: this.mono, alive: true };
    this.procs.push(proc);
    const instant = this.exitInSpawn.get(spec.name);
    if (instant) {
      // the exit is reported before spawn() has even returned the pid
      this.exitInSpawn.delete(spec.name);
      proc.alive = false;
      onExit(proc.pid, instant.code, instant.signal);
    }
    return proc.pid;
  }

  signal(pid: number, signal: string, group: boolean): void {
    this.signals.push({ pid, signal, group, at: this.mono });
  }

  /** resident bytes the "OS" reports for a main process's tree (max_memory tests) */
  rss = new Map<number, number>();

  sample(pid: number): { processes: number; cpuPercent: number; rssBytes: number; cpuSeconds: number } | null {
    const rss = this.rss.get(pid);
    return rss === undefined ? null : { processes: 1, cpuPercent: 0, rssBytes: rss, cpuSeconds: 0 };
  }

  exitPending(pid: number): boolean {
    return this.undelivered.has(pid);
  }

  timer(atMono: number | null, fn: () => void): void {
    this.timerAt = atMono;
    this.timerFn = atMono === null ? null : fn;
  }

  log(message: string): void {
    this.logs.push(message);
  }

  groups(added: OwnedGroup[], removed: number[]): void {
    for (const g of added) this.owned.set(g.pgid, g);
    for (const pgid of removed) this.owned.delete(pgid);
  }

  stopping(code: number): void {
    this.stoppingCodes.push(code);
  }

  exit(code: number): void {
    this.exitCodes.push(code);
  }

  // ---------- what tests drive

  /** the next spawn of `name` throws SpawnError(reason); `transient`: a shortage that passes (EMFILE) */
  failNextSpawn(name: string, reason: string, transient = false): void {
    this.failing.set(name, { reason, transient });
  }

  /** the process of `name` ends now, but its exit is delivered only by deliver() (a stall) */
  dieUndelivered(name: string): number {
    const pid = this.pidOf(name);
    this.undelivered.add(pid);
    return pid;
  }

  /** deliver the held exit of `pid` */
  deliver(pid: number, code: number | null = 0, signal: string | null = null): void {
    this.undelivered.delete(pid);
    this.exitPid(pid, code, signal);
  }

  /** the next spawn of `name` reports its exit synchronously, inside spawn() */
  exitDuringNextSpawn(name: string, code: number | null, signal: string | null = null): void {
    this.exitInSpawn.set(name, { code, signal });
  }

  advance(ms: number): void {
    this.advanceTo(this.mono + ms);
  }

  /** move the clock to `t`, firing the timer each time the clock reaches it on the way */
  advanceTo(t: number): void {
    if (t < this.mono) throw new Error(`the monotonic clock cannot go back (${this.mono} -> ${t})`);
    for (let fired = 0; this.timerAt !== null && this.timerAt <= t; fired++) {
      if (fired > 10_000) throw new Error(`timer keeps re-arming at ${this.timerAt}`);
      this.mono = Math.max(this.mono, this.timerAt);
      const fn = this.timerFn!;
      this.timerAt = null;
      this.timerFn = null;
      fn();
    }
    this.mono = t;
  }

  /** the loop was stopped (SIGSTOP) until `t`: the clock jumps, then the overdue timer fires once */
  stallTo(t: number): void {
    if (t < this.mono) throw new Error(`the monotonic clock cannot go back (${this.mono} -> ${t})`);
    this.mono = t;
    if (this.timerAt !== null && this.timerAt <= t) {
      const fn = this.timerFn!;
      this.timerAt = null;
      this.timerFn = null;
      fn();
    }
  }

  /** the live process `pid` ends */
  exitPid(pid: number, code: number | null = 0, signal: string | null = null): void {
    const p = this.procs.find((x) => x.pid === pid);
    if (!p) throw new Error(`no process ${pid} was spawned`);
    if (!p.alive) throw new Error(`process ${pid} has already exited`);
    p.alive = false;
    p.onExit(pid, code, signal);
  }

  /** the live process of `name` ends */
  exitOf(name: string, code: number | null = 0, signal: string | null = null): number {
    const pid = this.pidOf(name);
    this.exitPid(pid, code, signal);
    return pid;
  }

  /** report an exit for `pid` through the callback of spawn `via`, whatever its state: a late, duplicate or bogus report */
  reportExit(via: number, pid: number, code: number | null = 0, signal: string | null = null): void {
    const p = this.procs.find((x) => x.pid === via);
    if (!p) throw new Error(`no process ${via} was spawned`);
    p.onExit(pid, code, signal);
  }

  pidOf(name: string): number {
    const live = this.procs.filter((p) => p.name === name && p.alive);
    if (live.length !== 1) throw new Error(`want exactly one live process of ${name}, got ${live.length}`);
    return live[0]!.pid;
  }

  live(name?: string): FakeProc[] {
    return this.procs.filter((p) => p.alive && (name === undefined || p.name === name));
  }

  spawnsOf(name: string): FakeProc[] {
    return this.procs.filter((p) => p.name === name);
  }

  signalsTo(pid: number): SentSignal[] {
    return this.signals.filter((s) => s.pid === pid);
  }
}
