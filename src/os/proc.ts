// Reading /proc: children and descendants of a pid, process state and cost, environment. Used
// by the arbiter and the containment of companion trees.
import { existsSync, readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
  /** start time after boot, in clock ticks (proc(5) field 22): with the pid, names one process for good */
  start: number;
}

/** identity and state of one process (null: gone); one read of /proc/PID/stat, see statOf */
export function procInfo(pid: number): ProcInfo | null {
  return statOf(pid);
}

/** a process read from /proc that is running: not gone, not a zombie (Z) or dead (X) */
export function isRunning<T extends ProcInfo>(p: T | null): p is T {
  return p !== null && p.state !== "Z" && p.state !== "X";
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

/** the pids in `ppid`'s children lists (/proc/PID/task/TID/children, proc(5)); [] when gone */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${ppid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let list: string;
    try {
      list = readFileSync(`/proc/${ppid}/task/${tid}/children`, "utf8");
    } catch {
      continue;
    }
    for (const n of list.split(" ")) if (n.trim()) out.push(Number(n));
  }
  return out;
}

/** the children of `ppid`: from its children lists (cheap), else (no such files) a scan of /proc */
export function childrenOf(ppid: number): ProcInfo[] {
  if (!existsSync(`/proc/${ppid}/task/${ppid}/children`)) return allProcs().filter((p) => p.ppid === ppid);
  const out: ProcInfo[] = [];
  for (const pid of new Set(childPids(ppid))) {
    const p = procInfo(pid);
    if (p && p.ppid === ppid) out.push(p);
  }
  return out;
}

/**
 * Every live descendant of `roots` (not the roots themselves), by walking the kernel's
 * children lists; a process that ends during the walk is skipped.
 */
export function descendants(roots: number[]): number[] {
  const seen = new Set<number>(roots);
  const out: number[] = [];
  const stack = [...roots];
  while (stack.length) {
    for (const child of childPids(stack.pop()!)) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
      stack.push(child);
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

