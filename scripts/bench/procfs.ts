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
  /** utime + stime, in ticks of 1/USER_HZ s */
  ticks: number;
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
  return { pid, comm: s.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), ticks: Number(rest[11]) + Number(rest[12]) };
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
}

export function memory(pid: number): Mem | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, "latin1");
  } catch {
    return null;
  }
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rssKb: kb("Rss"), pssKb: kb("Pss") };
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
