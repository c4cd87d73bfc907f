// Reading /proc: children of a pid, process state. Used by the arbiter to find and reap
// orphans re-parented to it, and by tests for a census.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  state: string;
}

export function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parens: split after the last ")"
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), sid: Number(rest[3]) };
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
