// The arbiter (`sup run`): validates the config, keeps one manager alive, owns the operator's
// signals, and makes sure no companion of a dead manager survives into the next generation.
// It never spawns companions itself.
import type { Subprocess } from "bun";
import { loadConfig } from "../config/load.ts";
import { gracefulBudgetMs } from "../config/validate.ts";
import { claimSocketPath, SocketPathError } from "../control/server.ts";
import type { OwnedGroup } from "../manager/host.ts";
import { EXIT_BAD_CONFIG, EXIT_SOCKET, type Intent, type ToArbiter, type ToManager } from "../ipc.ts";
import { ARBITER_SIGNALS, blockSignals, lastError, reap, sendDatagram, setChildSubreaper } from "../os/libc.ts";
import { existsSync, readFileSync } from "node:fs";
import { StateFile } from "./state.ts";
import { ADOPT_MIN_FREE_FDS, adoptPipes, type Adopted } from "./pipes.ts";
import { DRAIN_MAX_MS } from "../logs/hub.ts";
import { operatorNofile } from "../os/fds.ts";
import { log, setLogRole } from "../os/log.ts";
import { childrenOf, descendants, envOf, isRunning, procInfo } from "../os/proc.ts";
import { ownCgroupDir } from "../contain/cgroup.ts";
import { MARKER_ENV, removeCgroupTree } from "../contain/containment.ts";
import { join } from "node:path";
import { selfCommand } from "../os/self.ts";
import { setLongTimeout, type LongTimer } from "../os/timer.ts";

// manager respawn backoff; the env knobs exist for chaos tests that kill the manager 50 times
const RESPAWN_MIN_MS = Number(process.env.SUP_RESPAWN_MIN_MS || 1000);
const RESPAWN_MAX_MS = Math.max(RESPAWN_MIN_MS, Number(process.env.SUP_RESPAWN_MAX_MS || 30_000));
const RESPAWN_RESET_MS = 60_000;

export async function runArbiter(file: string): Promise<number> {
  setLogRole("sup");
  // handlers first: a signal while the config loads must not kill sup by default action
  let arbiter: Arbiter | null = null;
  // a stop that arrived before the start-up re-exec (cli/main.ts) counts too
  let pending = (process.env.SUP_ARBITER_PENDING as "graceful" | "fast" | undefined) ?? null;
  delete process.env.SUP_ARBITER_PENDING;
  const stop = (kind: "graceful" | "fast", why: string) => {
    if (arbiter) arbiter.stop(kind, why);
    else pending = kind === "fast" ? "fast" : (pending ?? "graceful");
  };
  process.on("SIGTERM", () => stop("graceful", "SIGTERM"));
  process.on("SIGINT", () => stop("graceful", "SIGINT"));
  process.on("SIGQUIT", () => stop("fast", "SIGQUIT"));
  process.on("SIGHUP", () => arbiter?.relay("SIGHUP"));
  process.on("SIGUSR1", () => arbiter?.relay("SIGUSR1"));
  process.on("SIGUSR2", () => {});
  process.on("SIGPIPE", () => {});
  process.on("SIGCHLD", () => arbiter?.reapOrphans());
  // a bug must never leave sup alive and supervising nothing: log it, keep the manager going
  process.on("uncaughtException", (e) => log(`internal error (kept running): ${(e as Error)?.stack ?? e}`));
  process.on("unhandledRejection", (e) => log(`internal error (kept running): ${(e as Error)?.stack ?? e}`));
  blockSignals(ARBITER_SIGNALS, false); // held across the start-up re-exec (cli/main.ts): deliver now

  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    process.stderr.write(`sup: invalid config ${file}:\n${loaded.problems.map((p) => `  ${p}`).join("\n")}\n`);
    return 2;
  }
  try {
    await claimSocketPath(loaded.config.socket, false);
  } catch (e) {
    process.stderr.write(`sup: ${e instanceof SocketPathError ? e.message : String(e)}\n`);
    return 1;
  }
  if (pending) {
    log(`stopped (${pending}) before anything started`);
    return 0;
  }
  arbiter = new Arbiter(file, gracefulBudgetMs(loaded.config), loaded.config.stateFile);
  feedOwnWatchdog();
  return arbiter.run();
}

class Arbiter {
  private manager: Subprocess | null = null;
  /** process groups of the current manager's companions */
  private groups = new Map<number, OwnedGroup>();
  private stopping: "graceful" | "fast" | null = null;
  private managerStopCode: number | null = null;
  private failures = 0;
  /** managers spawned so far: only the first one's bad config ends sup */
  private generation = 0;
  /** a dead manager's groups are being stopped; a fast stop meanwhile makes it SIGKILL at once */
  private cleaning: Promise<void> | null = null;
  private killNow = false;
  /** the manager has its signal handlers and socket; until then reload signals wait */
  private ready = false;
  private held = new Set<string>();
  private respawnTimer: LongTimer | null = null;
  /** what the operator decided and the counters, per companion: outlives every manager */
  private readonly intents: Map<string, Intent>;
  /** [sup] state_file: the same across restarts of sup */
  private readonly state: StateFile;
  /** names this sup's cgroup folder and companion markers (SUP_TREE): unique per arbiter */
  readonly instance = `${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  /** wall ms when `sup run` started, for `info` */
  private readonly startedAt = Date.now();
  /** the soft RLIMIT_NOFILE sup was started with, handed to the manager for its companions */
  private readonly nofile = operatorNofile();
  private finish!: (code: number) => void;
  private done = false;

  constructor(
    private readonly file: string,
    private budgetMs: number,
    stateFile: string | null,
  ) {
    this.state = new StateFile(stateFile, log);
    this.intents = new Map(this.state.load().map((e) => [e.name, e]));
  }

  run(): Promise<number> {
    setChildSubreaper();
    const result = new Promise<number>((r) => (this.finish = r));
    this.spawnManager();
    return result;
  }

  private spawnManager(): void {
    this.respawnTimer = null;
    if (this.stopping || this.done) return;
    this.generation++;
    this.ready = false;
    this.groups.clear();
    this.managerStopCode = null;
    const started = performance.now();
    const [exe, ...args] = managerCommand(this.file);
    const env: Record<string, string | undefined> = { ...process.env, SUP_MANAGER_PARENT: String(process.pid), SUP_MANAGER_INSTANCE: this.instance, SUP_MANAGER_GENERATION: String(this.generation), SUP_MANAGER_STARTED_AT: String(this.startedAt / 1000) };
    if (this.nofile !== null) env.SUP_MANAGER_NOFILE = this.nofile === Infinity ? "unlimited" : String(this.nofile);
    let proc: Subprocess;
    try {
      proc = Bun.spawn({
        cmd: [exe!, ...args],
        argv0: process.execPath,
        env,
        stdio: ["ignore", "inherit", "inherit"],
        detached: true, // operator signals reach the arbiter only; it decides what the manager gets
        serialization: "json",
        ipc: (msg) => this.onMessage(msg as ToArbiter),
        onExit: (_p, code, signal) => void this.onManagerExit(code, signal ? String(signal) : null, performance.now() - started),
      });
    } catch (e) {
      // the binary was removed or replaced, no processes or memory left: never sit alive with
      // nothing supervised; say why and try again with the manager backoff
      const err = e as NodeJS.ErrnoException;
      this.scheduleRespawn(`cannot spawn the manager (${exe}): ${err?.message ?? err}`, 0);
      return;
    }
    this.manager = proc;
    // what the previous manager left: manual stops and counters (empty at first start)
    try {
      proc.send({ t: "intent", entries: [...this.intents.values()] } satisfies ToManager);
    } catch {}
    if (this.stopping) this.forward(this.stopping === "fast" ? "SIGQUIT" : "SIGTERM");
  }

  /** respawn the manager after the next backoff step (1 s, 2 s … 30 s; reset after 60 s up) */
  private scheduleRespawn(why: string, upMs: number): void {
    if (upMs >= RESPAWN_RESET_MS) this.failures = 0;
    const delay = Math.min(RESPAWN_MIN_MS * 2 ** Math.min(this.failures, 30), RESPAWN_MAX_MS);
    this.failures++;
    log(`${why}; respawning the manager in ${delay / 1000}s`);
    this.respawnTimer = setLongTimeout(() => this.spawnManager(), delay);
  }

  private onMessage(msg: ToArbiter): void {
    switch (msg.t) {
      case "groups":
        for (const g of msg.add) this.groups.set(g.pgid, g);
        for (const pgid of msg.del) this.groups.delete(pgid);
        return;
      case "notify":
        sdNotify(msg.text);
        return;
      case "stopping":
        sdNotify("STOPPING=1");
        // the manager began a shutdown of its own (fail-fast): hold it to the same budget
        if (this.managerStopCode === null && !this.stopping) this.armBudget(this.budgetMs);
        this.managerStopCode = msg.code;
        return;
      case "budget":
        this.budgetMs = msg.ms;
        if (msg.stateFile !== this.state.path) {
          this.state.path = msg.stateFile;
          this.state.save(this.intents);
        }
        return;
      case "intent":
        for (const e of msg.entries) this.intents.set(e.name, e);
        this.state.save(this.intents);
        return;
      case "shutdown":
        this.stop(msg.fast ? "fast" : "graceful", `shutdown${msg.fast ? " --fast" : ""} command`);
        return;
      case "ready":
        this.ready = true;
        for (const sig of this.held) this.forward(sig);
        this.held.clear();
        return;
    }
  }

  private async onManagerExit(code: number | null, signal: string | null, upMs: number): Promise<void> {
    const pid = this.manager?.pid ?? 0;
    this.manager = null;
    const intended = this.stopping !== null || this.managerStopCode !== null;
    if (!intended) log(`manager ${pid} died unexpectedly (${signal ? `killed by ${signal}` : `exit ${code}`})`);
    // no companion of that manager may survive into the next generation
    this.cleaning = this.killLeftovers(pid, intended ? 0 : undefined).catch((e) => log(`internal error while stopping leftovers: ${(e as Error)?.stack ?? e}`));
    await this.cleaning;
    this.cleaning = null;
    if (this.stopping) return this.exit(this.managerStopCode && this.managerStopCode > 0 ? this.managerStopCode : 0);
    if (this.managerStopCode !== null) return this.exit(code ?? this.managerStopCode);
    // at first start these are final; for a respawn (the file being edited, the socket briefly
    // taken) giving up would leave the host with no companions at all: keep retrying
    if (this.generation === 1 && (code === EXIT_BAD_CONFIG || code === EXIT_SOCKET)) return this.exit(code === EXIT_SOCKET ? 1 : 2);
    this.scheduleRespawn(`manager ${pid} is gone`, upMs);
  }

  /**
   * Stop every process the dead manager left: all of our descendants but a new manager (we are
   * a child subreaper, so the companions' whole trees, escaped daemons included, are re-parented
   * to us). Each gets its companion's stop signal now (known by its process group) and SIGKILL
   * at that companion's stop timeout (`graceMs` overrides it; 0 = SIGKILL at once). Waits until
   * every one is gone, however long the timeouts: a survivor would run beside the next manager's copy.
   */
  private async killLeftovers(deadManager: number, graceMs?: number): Promise<void> {
    const groups = new Map(this.groups);
    this.groups.clear();
    // their captured output had only the dead manager as reader: become it before the stop
    // signals, or a companion that prints while it stops dies of SIGPIPE (src/arbiter/pipes.ts;
    // a write in the few ms since the manager died still does: that race is not closed)
    const adopted = graceMs === 0 || this.killNow ? null : this.adoptOutput(deadManager, groups);
    const fallbackMs = Math.max(10_000, ...[...groups.values()].map((g) => g.stopMs));
    const first = new Map<number, { signal: string; stopMs: number; main: number | null }>();
    const start = performance.now();
    for (let pause = 20, pass = 0; ; pause = Math.min(pause * 2, 500), pass++) {
      this.reapOrphans();
      const left = descendants([process.pid]).filter((p) => p !== this.manager?.pid && p !== deadManager && isRunning(procInfo(p)));
      if (!left.length) break;
      const elapsed = performance.now() - start;
      for (const p of left) {
        let how = first.get(p);
        if (!how) {
          const g = ownerOf(p, groups);
          how = { signal: g?.signal ?? "SIGTERM", stopMs: graceMs ?? g?.stopMs ?? fallbackMs, main: g?.pgid ?? null };
          first.set(p, how);
          // the stop signal goes to what lived when the stop began, as the manager's stop does;
          // a process born later (a TERM handler's `sleep 1`) is part of the cleanup: SIGKILL only at the timeout
          if (pass === 0 || how.stopMs === 0 || this.killNow) signalPid(p, how.stopMs === 0 || this.killNow ? "SIGKILL" : how.signal);
          else if (elapsed >= how.stopMs) signalPid(p, "SIGKILL");
        } else if (this.killNow || elapsed >= how.stopMs) signalPid(p, "SIGKILL");
        // as in the manager: once a run's main process is gone, the rest of its tree goes too
        else if (how.main !== null && how.main !== p && !isRunning(procInfo(how.main))) signalPid(p, "SIGKILL");
      }
      await Bun.sleep(this.killNow ? 20 : pause);
    }
    this.reapOrphans();
    // every writer we know of is gone: what is left in the pipes comes out, then they close
    // (never kept open beside the next manager: one outside our tree may hold a write end)
    if (adopted) await adopted.finish(DRAIN_MAX_MS);
    const cg = this.cgroup();
    if (cg) removeCgroupTree(cg);
    if (first.size) log(`stopped ${first.size} leftover process(es) of manager ${deadManager}`);
  }

  /** read the leftover companions' captured stdout/stderr pipes (null when there are none or it failed) */
  private adoptOutput(deadManager: number, groups: Map<number, OwnedGroup>): Adopted | null {
    const wanted = [...groups.values()].filter((g) => g.stopMs > 0);
    if (!wanted.length) return null;
    const t0 = performance.now();
    try {
      const a = adoptPipes(wanted);
      const ms = (performance.now() - t0).toFixed(1);
      const notes = [a.skipped ? `${a.skipped} left unread: fewer than ${ADOPT_MIN_FREE_FDS} fds free` : "", a.foreign ? `${a.foreign} skipped: read inside the companion` : ""].filter(Boolean);
      if (a.pipes.length || notes.length) log(`reading ${a.pipes.length} output pipe(s) of manager ${deadManager}'s companions while they stop (opened in ${ms} ms${notes.length ? `; ${notes.join("; ")}` : ""})`);
      return a.pipes.length ? a : null;
    } catch (e) {
      log(`cannot read the output of manager ${deadManager}'s companions: ${(e as Error)?.message ?? e}`);
      return null;
    }
  }

  /** the manager's cgroup folder for this sup (cgroup mode), when it exists */
  private cgroup(): string | null {
    const own = ownCgroupDir();
    const dir = own && join(own, `sup.${this.instance}`);
    return dir && existsSync(dir) ? dir : null;
  }

  /** reap exited orphans re-parented to us, by pid (never waitpid(-1): that steals Bun's exits) */
  reapOrphans(): void {
    for (const p of childrenOf(process.pid)) {
      if (p.state === "Z" && p.pid !== this.manager?.pid) reap(p.pid);
    }
  }

  /** pass a reload/reopen signal on once the manager can take it */
  relay(signal: string): void {
    if (this.ready) this.forward(signal);
    else this.held.add(signal);
  }

  forward(signal: string): void {
    if (this.manager) {
      try {
        process.kill(this.manager.pid, signal);
      } catch {}
    }
  }

  stop(kind: "graceful" | "fast", why: string): void {
    if (this.stopping === "fast") {
      log(`${why}: already stopping`);
      return;
    }
    // a second stop during a graceful one (the operator pressing Ctrl-C again) is a fast stop
    if (this.stopping === "graceful") kind = "fast";
    const first = this.stopping === null;
    this.stopping = kind;
    if (first) sdNotify("STOPPING=1");
    log(`${why}: ${kind === "fast" ? "fast stop (SIGKILL)" : "graceful stop (send it again for a fast stop)"}`);
    if (this.respawnTimer) {
      this.respawnTimer.clear();
      this.respawnTimer = null;
    }
    if (this.cleaning) {
      // the dead manager's companions are still being stopped: finish that first (onManagerExit exits)
      if (kind === "fast") this.killNow = true;
      return;
    }
    if (!this.manager) return this.exit(0);
    this.forward(kind === "fast" ? "SIGQUIT" : "SIGTERM");
    if (first || kind === "fast") this.armBudget(kind === "fast" ? 5000 : this.budgetMs);
  }

  /** past the stop budget, SIGKILL the manager and every group it owned */
  private armBudget(budget: number): void {
    setLongTimeout(() => {
      if (this.done) return;
      log(`stop budget of ${budget / 1000}s spent; killing what is left`);
      this.forward("SIGKILL");
      for (const pgid of this.groups.keys()) signalPid(-pgid, "SIGKILL");
      // and whatever escaped the groups (re-parented to the manager or to us)
      for (const p of descendants([process.pid])) signalPid(p, "SIGKILL");
    }, budget);
  }

  private exit(code: number): void {
    if (this.done) return;
    this.done = true;
    this.state.flush();
    this.reapOrphans();
    this.finish(code);
  }
}

/**
 * Which companion run a leftover process belongs to: by its process group, else (an escapee
 * with its own session) by its SUP_TREE marker, else by its cgroup folder `<run>.<name>`.
 */
function ownerOf(pid: number, groups: Map<number, OwnedGroup>): OwnedGroup | undefined {
  const byGroup = groups.get(procInfo(pid)?.pgid ?? -1);
  if (byGroup) return byGroup;
  const marker = envOf(pid, MARKER_ENV);
  if (marker) for (const g of groups.values()) if (g.marker === marker) return g;
  let folder: string | undefined;
  try {
    folder = /^0::.*\/(\d+)\.([^/\n]+)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.slice(1, 3).join("/");
  } catch {}
  if (!folder) return undefined;
  const [run, name] = folder.split("/");
  for (const g of groups.values()) if (g.marker?.endsWith(`/${name}/${run}`)) return g;
  return undefined;
}

/** signal a pid (negative: a process group); one that is gone already is not an error */
function signalPid(pid: number, signal: string): void {
  try {
    process.kill(pid, signal);
  } catch {}
}

/**
 * How to run the manager: this very executable through /proc/self/exe, which stays valid when
 * the file was removed or replaced (an upgrade by rename) and keeps arbiter and manager on one
 * version; SUP_MANAGER_EXE names another file (tests use it to make the spawn fail).
 */
function managerCommand(file: string): string[] {
  const cmd = selfCommand("__manager", "-c", file);
  const exe = process.env.SUP_MANAGER_EXE || (existsSync("/proc/self/exe") ? "/proc/self/exe" : cmd[0]!);
  return [exe, ...cmd.slice(1)];
}

/**
 * Tell sup's own supervisor (systemd with Type=notify: NOTIFY_SOCKET, man 3 sd_notify) how sup
 * is doing. The arbiter is the main pid systemd knows, so it sends (NotifyAccess=main works).
 * Nothing happens without NOTIFY_SOCKET.
 */
let saidStopping = false;
export function sdNotify(text: string): void {
  const path = process.env.NOTIFY_SOCKET;
  if (text === "STOPPING=1") {
    if (saidStopping) return; // the operator's stop and the manager's own shutdown say it once
    saidStopping = true;
  }
  if (path && !sendDatagram(path, text)) log(`cannot notify ${path} (${text.split("\n")[0]}): ${lastError()}`);
}

/**
 * systemd's watchdog for sup itself (WatchdogSec=, WATCHDOG_USEC): WATCHDOG=1 at half the
 * period while the arbiter's loop runs. Nothing runs without WATCHDOG_USEC (or when
 * WATCHDOG_PID names another process).
 */
export function feedOwnWatchdog(): void {
  const usec = Number(process.env.WATCHDOG_USEC);
  const pid = process.env.WATCHDOG_PID;
  if (!process.env.NOTIFY_SOCKET || !Number.isFinite(usec) || usec <= 0 || (pid && Number(pid) !== process.pid)) return;
  setInterval(() => sdNotify("WATCHDOG=1"), Math.min(2 ** 31 - 1, Math.max(100, usec / 2000))).unref?.();
}
