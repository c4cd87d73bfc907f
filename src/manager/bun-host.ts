// The real Host: Bun.spawn with each companion in its own session and process group, log
// files opened for append, signals to whole groups, one timer of any length, logs to stderr.
// Spawns stop short of the last FD_RESERVE fds, and children get the operator's RLIMIT_NOFILE.
import { accessSync, closeSync, constants, openSync, statSync } from "node:fs";
import type { CompanionSpec, ErrOutput } from "../config/schema.ts";
import { signalNumber } from "../config/signals.ts";
import type { Clock } from "../core/types.ts";
import { SpawnError, type Host, type OwnedGroup, type ProbeReport, type WatchMode } from "./host.ts";
import type { Probes, RunChannels } from "../probes/probes.ts";
import type { ProbeSpawner } from "../probes/run.ts";
import type { Intent } from "../ipc.ts";
import { log } from "../os/log.ts";
import type { Containment, Run, Sample } from "../contain/containment.ts";
import { withLimits, type SpawnShape } from "../contain/limits.ts";
import { DRAIN_MAX_MS, type Logs, type RunCapture } from "../logs/hub.ts";
import { FD_RESERVE, fdBudget, operatorNofile } from "../os/fds.ts";
import { isRunning, procInfo } from "../os/proc.ts";
import { setLongTimeout, type LongTimer } from "../os/timer.ts";

/** environment variables of sup's own that companions must not see: sup's internals, and what
 *  sup's own supervisor (systemd) gave sup — its sd_notify socket and watchdog are not theirs */
const INTERNAL_ENV = /^(SUP_MANAGER_|SUP_ARBITER_|NODE_CHANNEL_|BUN_INTERNAL_|NOTIFY_SOCKET$|WATCHDOG_USEC$|WATCHDOG_PID$)/;

export class BunHost implements Host {
  private handle: LongTimer | null = null;
  private readonly baseEnv: Record<string, string>;
  private readonly fds = fdBudget();
  /** the soft RLIMIT_NOFILE companions get: the one sup was started with */
  private readonly nofile = operatorNofile();
  /** what withLimits needs of this host */
  private readonly limits = { operatorNofile: this.nofile, fds: this.fds, warn: log };

  constructor(
    private readonly hooks: { groups?: Host["groups"]; stopping?: Host["stopping"]; intent?: Host["intent"]; exit: (code: number) => void },
    /** tree membership of every run (cgroup or marker mode) */
    readonly contain: Containment,
    /** captured output: pipes, sinks, rings, followers */
    readonly logs: Logs,
    /** readiness and health: sd_notify sockets, notification fds, polled probes */
    readonly probes: Probes,
  ) {
    this.baseEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INTERNAL_ENV.test(k)) this.baseEnv[k] = v;
    // the arbiter turned Bun's idle GC timer off for sup itself (cli/main.ts), not for companions
    if (process.env.SUP_ARBITER_EXEC === "gc") delete this.baseEnv.BUN_GC_TIMER_DISABLE;
  }

  now(): Clock {
    return { mono: performance.now(), wall: Date.now() };
  }

  spawn(spec: CompanionSpec, onExit: (pid: number, code: number | null, signal: string | null) => void, onProbe?: (pid: number, r: ProbeReport) => void): number {
    // SUP_NAME last: the companion's name as sup knows it, whatever the env says (contract §3)
    const env: Record<string, string> = { ...this.baseEnv, ...spec.env, SUP_NAME: spec.name };
    if (spec.instance !== null) env.SUP_INSTANCE = String(spec.instance);
    else delete env.SUP_INSTANCE; // never an outer sup's
    checkCwd(spec.cwd);
    const free = this.fds.free();
    if (free < FD_RESERVE + 4) {
      throw new SpawnError(`too many open files: ${this.fds.limit - free} of ${this.fds.limit} fds in use, ${FD_RESERVE} kept for the control socket`, true);
    }
    this.fds.used();
    const opened: number[] = [];
    let capture: RunCapture | null;
    try {
      capture = this.logs.begin(spec);
    } catch (e) {
      throw new SpawnError((e as Error).message, true); // no fd for a pipe: a shortage that passes
    }
    const run = this.contain.prepare(spec.name);
    let spawned = false;
    let channels: RunChannels | null = null;
    try {
      try {
        // always: a reread may add an exec check to this run later
        channels = this.probes.prepare(spec, this.probeSpawner(spec, env, run));
      } catch (e) {
        throw new SpawnError((e as Error).message, shortage(e as NodeJS.ErrnoException) !== null);
      }
      const ch = channels;
      const out = spec.stdout.kind === "capture" ? capture!.stdout! : this.stdio(spec.stdout, "stdout", opened);
      // stderr = "stdout" follows stdout wherever it goes, sup's own stdout included
      const err = spec.stderr.kind === "stdout" ? (out === "inherit" ? 1 : out) : spec.stderr.kind === "capture" ? capture!.stderr! : this.stdio(spec.stderr, "stderr", opened);
      const proc = withLimits(spec, this.limits, (shape) => Bun.spawn({
        ...this.inRun(shape, spec, run, { ...env, ...ch.env }),
        stdio: ["ignore", out, err, ...ch.fds],
        onExit: (p, code, signal) => {
          ch.close();
          // the main process is gone: nothing of its tree may outlive it (say what was killed)
          const killed = this.contain.mainExited(p.pid);
          if (killed.length) {
            const names = killed.slice(0, 10).map((k) => `${k.pid} (${k.comm})`).join(", ");
            log(`${spec.name}: main process ${p.pid} exited; killed ${killed.length} process(es) left in its tree: ${names}${killed.length > 10 ? ", …" : ""} (run programs in the foreground)`);
          }
          const report = () => onExit(p.pid, signal ? null : code, signal ? String(signal) : null);
          if (!capture) return report();
          // lossless: every byte it wrote is in the sinks before its exit is recorded
          let timer: ReturnType<typeof setTimeout> | null = null;
          const late = new Promise<void>((r) => (timer = setTimeout(r, DRAIN_MAX_MS)));
          void Promise.race([capture.drained, late]).then(() => {
            if (timer) clearTimeout(timer);
            report();
          });
        },
      }));
      spawned = true;
      this.contain.adopt(proc.pid, run);
      ch.attach(proc.pid, onProbe ?? (() => {}));
      return proc.pid;
    } catch (e) {
      if (e instanceof SpawnError) throw e;
      throw spawnReason(e as NodeJS.ErrnoException, spec);
    } finally {
      for (const fd of opened) closeSync(fd);
      capture?.closeChildEnds(); // the child has its copies; EOF comes when the last writer is gone
      channels?.spawned();
      if (!spawned) {
        this.contain.abandon(run);
        capture?.abort();
        channels?.close();
      }
    }
  }

  /**
   * How an exec probe of `spec` runs: like the companion — its cwd, `env`, user, group, umask,
   * nice and limits — in a process group of its own, output dropped. Bun reaps it.
   */
  private probeSpawner(spec: CompanionSpec, env: Record<string, string>, run: Run): ProbeSpawner {
    // inside the run's tree (its cgroup, or its marker): what a probe leaves behind, even
    // setsid'ed, is stopped with the companion — as a container's exec probe runs in it
    return (argv) => withLimits({ ...spec, argv }, this.limits, (shape) => Bun.spawn({ ...this.inRun(shape, spec, run, env), stdio: ["ignore", "ignore", "ignore"] }));
  }

  /** what every process of a run is spawned with: the shape's argv and ids, the companion's cwd, `env` plus the run's marker, a session of its own, the run's cgroup */
  private inRun(shape: SpawnShape, spec: CompanionSpec, run: Run, env: Record<string, string>) {
    return {
      cmd: shape.argv,
      ...(shape.uid !== undefined ? { uid: shape.uid } : {}),
      ...(shape.gid !== undefined ? { gid: shape.gid } : {}),
      cwd: spec.cwd,
      env: { ...env, ...this.contain.env(run) },
      detached: true,
      ...(run.cgroup ? { cgroup: run.cgroup } : {}),
    };
  }

  private stdio(o: ErrOutput, which: string, opened: number[]): "inherit" | "ignore" | number {
    if (o.kind === "inherit") return "inherit";
    if (o.kind === "null" || o.kind === "stdout" || o.kind === "capture") return "ignore";
    try {
      const fd = openSync(o.path, "a", 0o644);
      opened.push(fd);
      return fd;
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code === "EACCES" ? "permission denied" : err.code === "ENOENT" ? "folder not found" : err.code === "EISDIR" ? "is a folder" : shortage(err) ?? err.message;
      throw new SpawnError(`cannot open ${which} log file ${o.path}: ${why}`, shortage(err) !== null);
    }
  }

  signal(pid: number, signal: string, group: boolean): void {
    const num = signalNumber(signal);
    if (group) {
      // the whole tree: its process group, every process of its cgroup or marked tree
      this.contain.signal(pid, num);
      return;
    }
    try {
      process.kill(pid, num);
    } catch {}
  }

  watch(pid: number, spec: CompanionSpec, mode: WatchMode): void {
    this.probes.watch(pid, spec, mode);
  }

  soon(fn: () => void): void {
    setImmediate(fn);
  }

  sample(pid: number): Sample | null {
    return this.contain.sample(pid);
  }

  specUpdated(spec: CompanionSpec): void {
    this.logs.update(spec);
  }

  lastStderr(name: string): string[] {
    return this.logs.lastStderr(name);
  }

  logProblem(name: string): string | null {
    return this.logs.problem(name);
  }

  sampleMany(pids: number[], budgetMs: number): Map<number, Sample | null> {
    return this.contain.sampleMany(pids, budgetMs);
  }

  timer(atMono: number | null, fn: () => void): void {
    this.handle?.clear();
    this.handle = null;
    if (atMono === null) return;
    // any distance (re-armed in steps past setTimeout's 24.8 days), and never early
    this.handle = setLongTimeout(fn, atMono - performance.now());
  }

  exitPending(pid: number): boolean {
    return !isRunning(procInfo(pid));
  }

  log(message: string): void {
    log(message);
  }

  groups(added: OwnedGroup[], removed: number[]): void {
    // with the run's marker, the arbiter can tell which companion an escaped process belongs to
    this.hooks.groups?.(
      added.map((g) => ({ ...g, marker: this.contain.markerOf(g.pgid) ?? undefined })),
      removed,
    );
  }

  intent(entry: Intent): void {
    this.hooks.intent?.(entry);
  }

  stopping(code: number): void {
    this.hooks.stopping?.(code);
  }

  exit(code: number): void {
    this.hooks.exit(code);
  }
}

/** the companion's cwd must be a folder sup can enter; say which of those it is not */
function checkCwd(cwd: string): void {
  let st;
  try {
    st = statSync(cwd);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "EACCES") throw new SpawnError(`cannot enter cwd ${cwd}: permission denied`);
    if (shortage(err)) throw new SpawnError(`cannot check cwd ${cwd}: ${shortage(err)}`, true);
    throw new SpawnError(`cwd not found: ${cwd}`);
  }
  if (!st.isDirectory()) throw new SpawnError(`cwd is not a folder: ${cwd}`);
  try {
    accessSync(cwd, constants.X_OK);
  } catch {
    throw new SpawnError(`cannot enter cwd ${cwd}: permission denied`);
  }
}

/** the shortages that pass (fds, processes, memory): a reason, or null for any other error */
function shortage(e: NodeJS.ErrnoException | undefined): string | null {
  const code = e?.code ?? /\b(EMFILE|ENFILE|EAGAIN|ENOMEM)\b/.exec(`${e?.message ?? ""}`)?.[1];
  if (code === "EMFILE") return "too many open files (EMFILE)";
  if (code === "ENFILE") return "too many open files in the system (ENFILE)";
  if (code === "EAGAIN") return "no processes left (EAGAIN)";
  if (code === "ENOMEM") return "out of memory (ENOMEM)";
  return null;
}

function spawnReason(e: NodeJS.ErrnoException, spec: CompanionSpec): SpawnError {
  const cmd = spec.argv[0] ?? "";
  const msg = `${e?.message ?? e}`;
  const short = shortage(e);
  if (short) return new SpawnError(`cannot spawn ${cmd}: ${short}`, true);
  if (e?.code === "ENOENT" || /ENOENT|no such file/i.test(msg)) return new SpawnError(`command not found: ${cmd}`);
  if (e?.code === "EACCES" || /EACCES|permission denied/i.test(msg)) return new SpawnError(`permission denied: ${cmd}`);
  return new SpawnError(`spawn failed: ${msg}`);
}
