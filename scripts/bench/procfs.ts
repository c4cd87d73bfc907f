// /proc readers for the benchmark: process stat, CPU ticks, RSS/PSS, a census of every process
// that carries the run's env marker, and a cheap "new child of P" detector.
import { readdirSync, readFileSync } from "node:fs";

/** /proc reports CPU time in USER_HZ, which is 100 on Linux whatever the kernel's HZ */
export const USER_HZ = 100;
export const MARK_VAR = "SUP_BENCH_MARK";

export interface Stat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgid: number;
  /** session id */
  sid: number;
  /** utime + stime, in ticks of 1/USER_HZ s */
  ticks: number;
  /** start time after boot, in ticks (with pid: the process's identity) */
  start: number;
}

export function readStat(pid: number): Stat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  const open = s.indexOf("(");
  const close = s.lastIndexOf(")");
  const rest = s.slice(close + 2).split(" ");
  // fields after comm: state(3) ppid(4) pgrp(5) session(6) tty(7) tpgid(8) flags(9) minflt(10)
  // cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15)
  // ... cutime(16) cstime(17) priority(18) nice(19) num_threads(20) itrealvalue(21) starttime(22)
  return { pid, comm: s.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), sid: Number(rest[3]), ticks: Number(rest[11]) + Number(rest[12]), start: Number(rest[19]) };
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

function pids(): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) if (n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57) out.push(Number(n));
  return out;
}

/** CPU seconds (user + system, all threads, living and exited) of these processes */
export function cpuSeconds(list: number[]): number {
  let t = 0;
  for (const p of list) t += readStat(p)?.ticks ?? 0;
  return t / USER_HZ;
}

export interface Mem {
  rssKb: number;
  pssKb: number;
  pssAnonKb: number;
  pssFileKb: number;
  anonKb: number;
}

export function memory(pid: number): Mem | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "latin1");
  } catch {
    return null;
  }
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rssKb: kb("Rss"), pssKb: kb("Pss"), pssAnonKb: kb("Pss_Anon"), pssFileKb: kb("Pss_File"), anonKb: kb("Anonymous") };
}

export function childrenOf(ppid: number): Stat[] {
  const out: Stat[] = [];
  for (const p of pids()) {
    const s = readStat(p);
    if (s && s.ppid === ppid) out.push(s);
  }
  return out;
}

/** live (non-zombie) processes whose environment has SUP_BENCH_MARK=<mark> */
export function census(mark: string): Stat[] {
  const needle = `${MARK_VAR}=${mark}`;
  const out: Stat[] = [];
  for (const p of pids()) {
    let env: string;
    try {
      env = readFileSync(`/proc/${p}/environ`, "latin1");
    } catch {
      continue;
    }
    if (!env.includes(needle)) continue;
    if (!env.split("\0").includes(needle)) continue;
    const s = readStat(p);
    if (s && s.state !== "Z") out.push(s);
  }
  return out;
}

/** SIGKILL every marked process and its process group; returns how many were found */
export function killMarked(mark: string): number {
  const found = census(mark);
  for (const p of found) {
    try {
      process.kill(-p.pgid, "SIGKILL");
    } catch {}
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
  return found.length;
}

function lastPid(): number | null {
  try {
    return Number(readFileSync("/proc/sys/kernel/ns_last_pid", "latin1"));
  } catch {
    return null;
  }
}

let pidMax = 0;
function maxPid(): number {
  if (!pidMax) {
    try {
      pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "latin1"));
    } catch {
      pidMax = 4_194_304;
    }
  }
  return pidMax;
}

/**
 * Watches for a new child of `parent` that has exec'd `comm` (so a forked but not yet exec'd
 * child does not count). Uses /proc/sys/kernel/ns_last_pid to look only at newly allocated
 * pids; falls back to a full /proc scan. Busy-polls: call `poll()` in a tight loop.
 */
export class NewChildWatch {
  private last: number | null;
  /** newly allocated pids still worth reading -> how often they were not readable yet */
  private readonly candidates = new Map<number, number>();

  constructor(
    private readonly parent: number,
    private readonly comm: string,
    private readonly exclude: Set<number>,
  ) {
    this.last = lastPid();
  }

  poll(): number | null {
    if (this.last === null) {
      for (const s of childrenOf(this.parent)) if (this.ok(s)) return s.pid;
      return null;
    }
    const now = lastPid();
    if (now !== null && now !== this.last) {
      if (now > this.last) for (let p = this.last + 1; p <= now; p++) this.candidates.set(p, 0);
      else {
        for (let p = this.last + 1; p < maxPid(); p++) this.candidates.set(p, 0);
        for (let p = 1; p <= now; p++) this.candidates.set(p, 0);
      }
      this.last = now;
    }
    for (const [p, misses] of this.candidates) {
      const s = readStat(p);
      if (!s) {
        // allocated but not yet visible in /proc (or already gone): give it a few more looks
        if (misses > 200) this.candidates.delete(p);
        else this.candidates.set(p, misses + 1);
        continue;
      }
      if (s.ppid !== this.parent) {
        this.candidates.delete(p);
        continue;
      }
      if (this.ok(s)) return p;
      // our parent's child that has not exec'd yet: keep watching it
    }
    return null;
  }

  private ok(s: Stat): boolean {
    return s.state !== "Z" && s.comm === this.comm && !this.exclude.has(s.pid);
  }
}

function taskRuntimes(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      out.set(Number(t), Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "latin1").split(" ")[0]));
    } catch {}
  }
  return out;
}

/**
 * CPU time of some processes over a window, two ways: utime+stime from /proc/PID/stat (all
 * threads, also exited ones, but in 10 ms ticks), and the nanosecond run time of every thread
 * from /proc/PID/task/TID/schedstat. Threads come and go (GC helpers), so call sample() every
 * few hundred ms: a thread that exits loses only the time since its last sample.
 */
export class CpuMeter {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly ticks0: number;
  readonly t0 = performance.now();

  constructor(private readonly pids: number[]) {
    this.ticks0 = cpuSeconds(pids);
    this.sample(true);
  }

  sample(initial = false): void {
    for (const p of this.pids) {
      for (const [tid, ns] of taskRuntimes(p)) {
        const k = `${p}/${tid}`;
        if (!this.first.has(k)) this.first.set(k, initial ? ns : 0); // born in the window: all of it counts
        this.last.set(k, ns);
      }
    }
  }

  /** { statS: seconds from /proc stat ticks, schedS: seconds from schedstat, per pid, wallS } */
  stop(): { statS: number; schedS: number; wallS: number; perPidS: Record<string, number> } {
    this.sample();
    let ns = 0;
    const per: Record<string, number> = {};
    for (const [k, v] of this.last) {
      const d = v - (this.first.get(k) ?? 0);
      ns += d;
      const pid = k.slice(0, k.indexOf("/"));
      per[pid] = (per[pid] ?? 0) + d / 1e9;
    }
    return { statS: cpuSeconds(this.pids) - this.ticks0, schedS: ns / 1e9, wallS: (performance.now() - this.t0) / 1000, perPidS: per };
  }
}

/** sleep ms while sampling the meter every stepMs */
export async function meterSleep(m: CpuMeter, ms: number, stepMs = 250): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await Bun.sleep(Math.min(stepMs, Math.max(0, end - performance.now())));
    m.sample();
  }
}

/** fraction (0..1) of all CPUs busy over `ms`, from /proc/stat */
export async function cpuBusy(ms: number): Promise<number> {
  const read = () => {
    const f = readFileSync("/proc/stat", "latin1").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await Bun.sleep(ms);
  const b = read();
  const total = b.total - a.total;
  return total > 0 ? 1 - (b.idle - a.idle) / total : 0;
}

/** the processes using the most CPU right now (not ours), for a "machine is busy" warning */
export async function topCpu(ms: number, n: number, exclude: Set<number>): Promise<{ pid: number; pct: number; cmd: string }[]> {
  const snap = () => {
    const m = new Map<number, number>();
    for (const p of pids()) {
      const s = readStat(p);
      if (s) m.set(p, s.ticks);
    }
    return m;
  };
  const a = snap();
  await Bun.sleep(ms);
  const b = snap();
  const out: { pid: number; pct: number; cmd: string }[] = [];
  for (const [p, t] of b) {
    if (exclude.has(p)) continue;
    const d = t - (a.get(p) ?? t);
    if (d > 0) out.push({ pid: p, pct: (d / USER_HZ / (ms / 1000)) * 100, cmd: cmdline(p).slice(0, 80) });
  }
  return out.sort((x, y) => y.pct - x.pct).slice(0, n);
}
