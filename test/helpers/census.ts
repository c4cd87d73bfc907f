// Process census for tests: every live process whose environment carries a marker, read from
// /proc, so "nothing left behind" is asserted, not assumed.
import { readdirSync, readFileSync } from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  cmd: string;
}

export function procStat(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {}
    return { pid, state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), cmd };
  } catch {
    return null;
  }
}

/** live (non-zombie) processes whose environ has `SUP_TEST_MARK=<mark>` */
export function census(mark: string): Proc[] {
  const needle = `SUP_TEST_MARK=${mark}`;
  const out: Proc[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    let env: string;
    try {
      env = readFileSync(`/proc/${n}/environ`, "utf8");
    } catch {
      continue;
    }
    if (!env.split("\0").includes(needle)) continue;
    const p = procStat(Number(n));
    if (p && p.state !== "Z") out.push(p);
  }
  return out;
}

export function alive(pid: number): boolean {
  const p = procStat(pid);
  return !!p && p.state !== "Z";
}

export function killAll(mark: string): void {
  for (const p of census(mark)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
}
