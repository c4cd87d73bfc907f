// The real Host: Bun.spawn with each companion in its own session and process group, log
// files opened for append, signals to whole groups, one setTimeout, logs to stderr.
import { closeSync, openSync, statSync } from "node:fs";
import type { CompanionSpec, ErrOutput } from "../config/schema.ts";
import { signalNumber } from "../config/signals.ts";
import type { Clock } from "../core/types.ts";
import { SpawnError, type Host, type OwnedGroup } from "./host.ts";
import { log } from "../os/log.ts";

/** environment variables of sup's own that companions must not see */
const INTERNAL_ENV = /^(SUP_MANAGER_|SUP_ARBITER_|NODE_CHANNEL_|BUN_INTERNAL_)/;

export class BunHost implements Host {
  private handle: ReturnType<typeof setTimeout> | null = null;
  private readonly baseEnv: Record<string, string>;

  constructor(
    private readonly hooks: { groups?: Host["groups"]; stopping?: Host["stopping"]; exit: (code: number) => void },
  ) {
    this.baseEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INTERNAL_ENV.test(k)) this.baseEnv[k] = v;
    // the arbiter turned Bun's idle GC timer off for sup itself (cli/main.ts), not for companions
    if (process.env.SUP_ARBITER_EXEC === "gc") delete this.baseEnv.BUN_GC_TIMER_DISABLE;
  }

  now(): Clock {
    return { mono: performance.now(), wall: Date.now() };
  }

  spawn(spec: CompanionSpec, onExit: (pid: number, code: number | null, signal: string | null) => void): number {
    const env = { ...this.baseEnv, ...spec.env };
    if (!isDir(spec.cwd)) throw new SpawnError(`cwd not found: ${spec.cwd}`);
    const opened: number[] = [];
    try {
      const out = this.stdio(spec.stdout, "stdout", opened);
      // stderr = "stdout" follows stdout wherever it goes, sup's own stdout included
      const err = spec.stderr.kind === "stdout" ? (out === "inherit" ? 1 : out) : this.stdio(spec.stderr, "stderr", opened);
      const proc = Bun.spawn({
        cmd: spec.argv,
        cwd: spec.cwd,
        env,
        stdio: ["ignore", out, err],
        detached: true,
        onExit: (p, code, signal) => {
          // the leader is gone: nothing of its group may outlive it
          try {
            process.kill(-p.pid, "SIGKILL");
          } catch {}
          onExit(p.pid, signal ? null : code, signal ? String(signal) : null);
        },
      });
      return proc.pid;
    } catch (e) {
      if (e instanceof SpawnError) throw e;
      throw new SpawnError(spawnReason(e as NodeJS.ErrnoException, spec));
    } finally {
      for (const fd of opened) closeSync(fd);
    }
  }

  private stdio(o: ErrOutput, which: string, opened: number[]): "inherit" | "ignore" | number {
    if (o.kind === "inherit") return "inherit";
    if (o.kind === "null" || o.kind === "stdout") return "ignore";
    try {
      const fd = openSync(o.path, "a", 0o644);
      opened.push(fd);
      return fd;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new SpawnError(`cannot open ${which} log file ${o.path}: ${err.code === "EACCES" ? "permission denied" : err.code === "ENOENT" ? "folder not found" : err.code === "EISDIR" ? "is a folder" : err.message}`);
    }
  }

  signal(pid: number, signal: string, group: boolean): void {
    const num = signalNumber(signal);
    if (group) {
      try {
        process.kill(-pid, num);
        return;
      } catch {
        // no such group (the companion made its own): fall back to the pid
      }
    }
    try {
      process.kill(pid, num);
    } catch {}
  }

  timer(atMono: number | null, fn: () => void): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    if (atMono === null) return;
    // +1 ms: a timer that fires a hair early would find nothing due and re-arm for ~0 ms
    this.handle = setTimeout(fn, Math.max(0, atMono - performance.now()) + 1);
  }

  log(message: string): void {
    log(message);
  }

  groups(added: OwnedGroup[], removed: number[]): void {
    this.hooks.groups?.(added, removed);
  }

  stopping(code: number): void {
    this.hooks.stopping?.(code);
  }

  exit(code: number): void {
    this.hooks.exit(code);
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function spawnReason(e: NodeJS.ErrnoException, spec: CompanionSpec): string {
  const cmd = spec.argv[0] ?? "";
  const msg = `${e?.message ?? e}`;
  if (e?.code === "ENOENT" || /ENOENT|no such file/i.test(msg)) return `command not found: ${cmd}`;
  if (e?.code === "EACCES" || /EACCES|permission denied/i.test(msg)) return `permission denied: ${cmd}`;
  return `spawn failed: ${msg}`;
}
