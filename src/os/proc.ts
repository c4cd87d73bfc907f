// Reading /proc: children of a pid, process state. Used by the arbiter to find and reap
// orphans re-parented to it, and by tests for a census.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  /** start time after boot, in clock ticks (proc(5) field 22): with the pid, names one process for good */
  start: number;
}

export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parens: split after the last ")"
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), sid: Number(rest[3]), start: Number(rest[19]) };
  } catch {
    return null;
  }
}

export function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    const p = procInfo(Number(n));
    if (p) out.push(p);
  }
  return out;
}

/** the children of `ppid`: from each /proc/PID/task/TID/children file (cheap), else a scan of /proc */
export function childrenOf(ppid: number): ProcInfo[] {
  try {
    const pids = new Set<number>();
    for (const tid of readdirSync(`/proc/${ppid}/task`)) {
      for (const n of readFileSync(`/proc/${ppid}/task/${tid}/children`, "utf8").split(" ")) if (n.trim()) pids.add(Number(n));
    }
    const out: ProcInfo[] = [];
    for (const pid of pids) {
      const p = procInfo(pid);
      if (p && p.ppid === ppid) out.push(p);
    }
    return out;
  } catch {
    return allProcs().filter((p) => p.ppid === ppid);
  }
}

/**
 * Every live descendant of `roots` (not the roots themselves), by walking the kernel's
 * /proc/PID/task/TID/children lists (proc(5)); a process that ends during the walk is skipped.
 */
export function descendants(roots: number[]): number[] {
  const seen = new Set<number>(roots);
  const out: number[] = [];
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      let list: string;
      try {
        list = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8");
      } catch {
        continue;
      }
      for (const n of list.split(" ")) {
        if (!n.trim()) continue;
        const child = Number(n);
        if (seen.has(child)) continue;
        seen.add(child);
        out.push(child);
        stack.push(child);
      }
    }
  }
  return out;
}

/** the value of variable `name` in the environment `pid` started with, or null (gone, not ours, absent) */
export function envOf(pid: number, name: string): string | null {
  let env: Buffer;
  try {
    env = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return null;
  }
  const key = Buffer.from(`${name}=`);
  let at = env[0] === key[0] && env.subarray(0, key.length).equals(key) ? 0 : -1;
  if (at < 0) {
    const hit = env.indexOf(Buffer.concat([Buffer.from([0]), key]));
    if (hit < 0) return null;
    at = hit + 1;
  }
  const end = env.indexOf(0, at);
  return env.subarray(at + key.length, end < 0 ? env.length : end).toString("utf8");
}

/** one read of /proc/PID/stat: identity, state, and cost (null: gone) */
export interface ProcStat extends ProcInfo, ProcUsage {}

export function statOf(pid: number): ProcStat | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const f = stat.slice(close + 2).split(" ");
  const dead = f[0] === "Z" || f[0] === "X";
  return {
    pid,
    state: f[0]!,
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    sid: Number(f[3]),
    start: Number(f[19]),
    cpu: dead ? 0 : (Number(f[11]) + Number(f[12])) / TICKS,
    childCpu: dead ? 0 : (Number(f[13]) + Number(f[14])) / TICKS,
    rssBytes: dead ? 0 : Number(f[21]) * pageSize(),
    comm,
  };
}

/** CPU and memory of one process: from /proc/PID/stat (utime, stime, cutime, cstime in clock ticks; rss in pages) */
export interface ProcUsage {
  /** user + system CPU of the process itself, seconds */
  cpu: number;
  /** CPU of its reaped children, seconds */
  childCpu: number;
  rssBytes: number;
  comm: string;
}

/** USER_HZ: /proc reports CPU in these ticks (100 on every Linux ABI in use: proc(5), times(2)) */
const TICKS = 100;
let page = 0;
/** the page size, from this process's own RSS in pages (statm) and in kB (status): 4 KiB, 16 KiB or 64 KiB */
function pageSize(): number {
  if (page) return page;
  try {
    const pages = Number(readFileSync("/proc/self/statm", "utf8").split(" ")[1]);
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);
    const guess = (kb * 1024) / pages;
    page = [4096, 16384, 65536].reduce((a, b) => (Math.abs(b - guess) < Math.abs(a - guess) ? b : a));
  } catch {
    page = 4096;
  }
  return page;
}

