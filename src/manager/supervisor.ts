// The manager's loop: one queue of (companion, event), the pure step, effects run through the
// Host, one timer for the earliest deadline. Owns all mutation of companion state; the control
// server and signal handlers only submit events and read snapshots.
import type { CompanionSpec, Dependency, SupConfig } from "../config/schema.ts";
import { describe, type StatusEntry } from "../core/describe.ts";
import { newCompanion, step, updatedInPlace, why } from "../core/step.ts";
import type { Companion, Effect, Event, Reply } from "../core/types.ts";
import type { Host } from "./host.ts";
import type { Intent } from "../ipc.ts";

function intentOf(c: Companion): Intent {
  return { name: c.name, manualStop: c.manualStop, restartCount: c.restartCount, exitCount: c.exitCount, lastExitCode: c.lastExitCode, lastExitSignal: c.lastExitSignal, exitedAt: c.exitedAt };
}
import { isDown, startOutcome, stopOutcome, timedOut, Waits, type WaitReply } from "./waits.ts";
import { SpawnError, type ProbeReport, type WatchMode } from "./host.ts";
import { isSuccess } from "../core/policy.ts";

/** a dependency's condition holds (contract §9); a finished one-shot counts as started and ready too */
export function conditionMet(d: Companion | undefined, condition: Dependency["condition"]): boolean {
  if (!d) return false;
  const completed = d.state === "EXITED" && isSuccess(d.lastExitCode, d.lastExitSignal, d.spec.successExitCodes);
  if (condition === "completed" || completed) return completed;
  if (condition === "started") return d.state === "RUNNING" || (d.state === "STARTING" && d.pid !== null);
  return isUp(d);
}

/** RUNNING, and ready when it has a check (not after RELOADING=1 until the next READY=1) */
function isUp(c: Companion): boolean {
  return c.state === "RUNNING" && (!c.spec.ready || c.ready);
}

/**
 * Why dependency `d` will not meet any condition it does not meet now unless the operator acts:
 * it is FATAL, it ended for good (EXITED), it was stopped, or it is never started
 * (autostart = false). Null while it may still get there by itself.
 */
function stuck(d: Companion): string | null {
  if (d.state === "FATAL") return `it is FATAL: ${d.reason}`;
  if (d.state === "EXITED") return `it ${d.reason}`;
  if (d.state === "STOPPED" && d.manualStop) return "it was stopped";
  if (d.state === "STOPPED" && !d.spec.autostart && !d.hasRun) return "it is not started (autostart = false)";
  return null;
}

/** a WAITING companion that waits only on dependencies that are stuck: it will not start by itself */
export function blocked(c: Companion): boolean {
  return c.state === "WAITING" && c.waitingFor.length > 0 && c.waitingFor.every((d) => d.why !== undefined);
}

/** what a run's probes should be doing in its state */
function watchMode(c: Companion): WatchMode {
  if (c.pid === null) return null;
  if (c.state === "STARTING" && c.spec.ready) return "ready";
  if (c.state === "RUNNING" && c.spec.health) return "health";
  return null;
}

export interface RereadResult {
  added: string[];
  removed: string[];
  restarted: string[];
  /** only timings, policy or sinks changed: the new settings apply in place, same process */
  updated: string[];
  unchanged: string[];
  /** what could not be applied (a socket path that cannot be taken); the old setting stays */
  warnings: string[];
}

/** the work one status reply may spend sampling trees (ms); the stalest are sampled first */
const STATUS_SAMPLE_BUDGET_MS = 8;

/** the work one slice of the initial start may take before the loop serves others (ms) */
const START_SLICE_MS = 20;

/** a waited command's default timeout: what it needs, plus this */
const WAIT_MARGIN_MS = 5000;

/** how long a due deadline waits for an exit that already happened, and how often it looks (ms) */
const EXIT_WAIT_MS = 1000;
const EXIT_WAIT_STEP_MS = 5;

/** bytes in the config's own unit words: "612MB" (powers of 1000), "1.2GB" */
function megabytes(n: number): string {
  return n >= 1e9 ? `${Math.round(n / 1e8) / 10}GB` : `${Math.round(n / 1e6)}MB`;
}

/** one state change, as the event stream carries it (contract §5 events) */
export interface Transition {
  ts: string;
  name: string;
  from: string;
  to: string;
  reason: string;
  pid: number | null;
}

type Queued = { name: string; event: Event; reply?: (r: Reply | undefined) => void };

export class Supervisor {
  private companions = new Map<string, Companion>();
  /** config order; removed companions stay at their place until their process is gone */
  private order: string[] = [];
  private queue: Queued[] = [];
  private draining = false;
  private armedAt: number | null = null;
  private shutdown: { code: number; fast: boolean } | null = null;
  /** who looks after every drain of the queue (sup's own READY=1 until it is sent) */
  private readonly drained = new Set<() => void>();
  /** who hears of every state change (the event stream); nothing is built without one */
  private readonly transitions = new Set<(e: Transition) => void>();
  /** replies waiting for an outcome, checked after every drain */
  private readonly waits = new Waits((n) => this.companions.get(n));
  /** companions whose due deadline waits for an exit already under way: since (mono ms) */
  private waitingExit = new Map<string, number>();
  private exited = false;
  /** who depends on each name (from every spec's dependsOn) */
  private dependents = new Map<string, string[]>();
  /** some companion is WAITING / holds its stop signal: the loop re-checks after each drain */
  private anyWaiting = false;
  private anyHeld = false;
  /** held stops may go out: the batch of stops that made them is complete (one tick later) */
  private holdsSettled = true;

  constructor(
    private config: SupConfig,
    private readonly host: Host,
  ) {
    for (const spec of config.companions) this.add(spec);
    this.indexDependents();
  }

  private indexDependents(): void {
    this.dependents.clear();
    for (const c of this.companions.values()) for (const d of c.spec.dependsOn) this.dependents.set(d.name, [...(this.dependents.get(d.name) ?? []), c.name]);
  }

  /** the dependencies of `spec` not met now, in its order, each with why it cannot be met by itself (if so) */
  private unmet(spec: CompanionSpec): Dependency[] {
    const out: Dependency[] = [];
    for (const d of spec.dependsOn) {
      const dep = this.companions.get(d.name);
      if (conditionMet(dep, d.condition)) continue;
      const why = dep ? stuck(dep) : "it is not in the config";
      out.push(why ? { ...d, why } : d);
    }
    return out;
  }

  get current(): SupConfig {
    return this.config;
  }

  /** the config as finally applied by a reread (a socket move may have been kept back) */
  adoptConfig(config: SupConfig): void {
    this.config = config;
  }

  /**
   * Start every companion, in config order; `done` runs once all are started. The spawns go in
   * slices of about START_SLICE_MS of work: between two slices the loop serves the control
   * socket, exits and probes (200 spawns on a loaded host take seconds; a liveness probe must
   * still get an answer). A companion stopped or removed meanwhile is skipped.
   */
  startAll(done?: () => void): void {
    const names = [...this.order];
    const slice = (from: number) => {
      const t0 = this.host.now().mono;
      for (let i = from; i < names.length; i++) {
        if (this.shutdown) return done?.(); // an essential companion already ended: start nothing more
        const c = this.companions.get(names[i]!);
        // stays STOPPED: "not started", stopped by the operator, or no longer in the config
        if (!c || c.removed || !c.spec.autostart || c.manualStop || c.state !== "STOPPED") continue;
        this.submit(c.name, { type: "start" });
        if (this.host.soon && this.host.now().mono - t0 >= START_SLICE_MS && i + 1 < names.length) {
          this.host.soon(() => slice(i + 1));
          return;
        }
      }
      done?.();
    };
    slice(0);
  }

  // ---------- the loop

  /** queue an event and run the queue; returns the reply of a command event */
  submit(name: string, event: Event): Reply | undefined {
    let reply: Reply | undefined;
    this.queue.push({ name, event, reply: (r) => (reply = r) });
    this.drain();
    return reply;
  }

  private drain(): void {
    if (this.draining) return; // re-entrant call (an exit fired inside spawn): the outer drain runs it
    this.draining = true;
    try {
      for (;;) {
        let item: Queued | undefined;
        while ((item = this.queue.shift())) this.handle(item);
        // what this batch changed may meet a WAITING companion's dependencies or free a held stop
        if (this.anyWaiting && this.recheckWaiting()) continue;
        if (this.anyHeld && this.holdsSettled && this.releaseHeld()) continue;
        // deadlines already due (a zero restart_delay, a late timer) run now, not a timer later
        if (!this.scanDeadlines()) break;
      }
    } finally {
      this.draining = false;
    }
    if (this.waits.size) this.waits.check();
    for (const fn of this.drained) fn();
    this.checkShutdownDone();
  }

  private handle({ name, event, reply }: Queued): void {
    const c = this.companions.get(name);
    if (!c) {
      reply?.({ ok: false, message: `unknown companion ${name}`, code: "BAD_NAME" });
      return;
    }
    const now = this.host.now();
    event = this.withDependencies(c, event);
    const r = step(c, event, now);
    this.companions.set(name, r.next);
    reply?.(r.reply);
    const n = r.next;
    if (n.state === "WAITING") this.anyWaiting = true;
    if (n.held && !c.held) {
      this.anyHeld = true;
      this.holdsSettled = false;
      const settle = () => {
        this.holdsSettled = true;
        this.drain();
      };
      if (this.host.soon) this.host.soon(settle);
      else this.holdsSettled = true;
    }
    this.rewatch(c, n);
    if (n.state !== c.state && this.transitions.size) {
      const e: Transition = { ts: new Date(now.wall).toISOString(), name, from: c.state, to: n.state, reason: why(event, c, n), pid: n.pid ?? c.pid };
      for (const fn of this.transitions) fn(e);
    }
    // what outlives this manager: an operator's stop/start and the counters — never the stops of
    // a shutdown, a fast stop or a removal (sup's next start must not find everything "stopped")
    const sideEffectStop = (event.type === "stop" && event.kind !== undefined && event.kind !== "manual") || event.type === "kill";
    if (this.host.intent && !sideEffectStop && !this.shutdown && (n.manualStop !== c.manualStop || n.restartCount !== c.restartCount || n.exitCount !== c.exitCount)) this.host.intent(intentOf(n));
    for (const e of r.effects) this.run(r.next, e);
  }

  /**
   * Switch a run's probes to what its record now asks for (watchMode): on a change of mode or
   * pid, or whenever its spec changed in place (`specChanged`: a check was edited).
   */
  private rewatch(before: Companion, after: Companion, specChanged = false): void {
    const [was, now] = [watchMode(before), watchMode(after)];
    if (!specChanged && was === now && before.pid === after.pid) return;
    if (was && before.pid !== null) this.host.watch?.(before.pid, before.spec, null);
    if (now) this.host.watch?.(after.pid!, after.spec, now);
  }

  /**
   * What the core needs to know of the other companions, added to the event: the unmet
   * dependencies of a start from down, and whether a stop must hold its signal for dependents
   * that are still up (contract §9: reverse order; decided for good one tick later, once every
   * stop of the batch — shutdown, `stop all`, removal — is in).
   */
  private withDependencies(c: Companion, event: Event): Event {
    if ((event.type === "start" || event.type === "restart") && event.unmet === undefined && c.spec.dependsOn.length) return { ...event, unmet: this.unmet(c.spec) };
    if (event.type === "changed" && event.unmet === undefined && event.spec.dependsOn.length) return { ...event, unmet: this.unmet(event.spec) };
    // an operator's or a batch's stop (the loop's release says hold: false; a capped stop never holds):
    // a held companion stays held, a live one holds while a companion that depends on it is up
    if (event.type === "stop" && event.hold === undefined && event.capMs === undefined) {
      const dependentUp = () => (this.dependents.get(c.name) ?? []).some((d) => this.companions.get(d)?.pid != null);
      if (c.held || (c.pid !== null && dependentUp())) return { ...event, hold: true };
    }
    return event;
  }

  /** WAITING companions whose dependencies changed get a `deps` event; true when any was queued */
  private recheckWaiting(): boolean {
    let queued = false;
    let waiting = false;
    for (const c of this.companions.values()) {
      if (c.state !== "WAITING") continue;
      waiting = true;
      const unmet = this.unmet(c.spec);
      if (unmet.length === c.waitingFor.length && unmet.every((d, i) => d.name === c.waitingFor[i]!.name && d.condition === c.waitingFor[i]!.condition && d.why === c.waitingFor[i]!.why)) continue;
      this.queue.push({ name: c.name, event: { type: "deps", unmet } });
      queued = true;
    }
    this.anyWaiting = waiting;
    return queued;
  }

  /** held stops whose dependents are all gone (or not stopping) go out; true when any was queued */
  private releaseHeld(): boolean {
    let queued = false;
    let held = false;
    for (const c of this.companions.values()) {
      if (!c.held) continue;
      held = true;
      const blocked = (this.dependents.get(c.name) ?? []).some((n) => {
        const d = this.companions.get(n);
        return d !== undefined && d.pid !== null && d.state === "STOPPING";
      });
      if (blocked) continue;
      this.queue.push({ name: c.name, event: { type: "stop", kind: c.removed ? "remove" : "shutdown", hold: false } });
      queued = true;
    }
    this.anyHeld = held;
    return queued;
  }

  /**
   * A respawned manager takes over what the last one decided (contract §1 rev 2): manual stops
   * stay stopped, counters go on. Call before startAll().
   */
  restoreIntent(entries: Intent[]): void {
    for (const e of entries) {
      const c = this.companions.get(e.name);
      if (!c) continue;
      this.companions.set(e.name, {
        ...c,
        manualStop: e.manualStop,
        restartCount: e.restartCount,
        exitCount: e.exitCount,
        lastExitCode: e.lastExitCode,
        lastExitSignal: e.lastExitSignal,
        exitedAt: e.exitedAt,
        hasRun: c.hasRun || e.exitCount > 0,
        reason: e.manualStop ? "stopped manually" : c.reason,
      });
    }
  }

  private run(c: Companion, e: Effect): void {
    switch (e.type) {
      case "log":
        this.host.log(e.message);
        return;
      case "signal":
        this.host.signal(e.pid, e.signal, e.group);
        return;
      case "spawn":
        return this.spawn(c.name, e.spec);
      case "gone":
        this.companions.delete(c.name);
        this.order = this.order.filter((n) => n !== c.name);
        return;
      case "ended":
        if (!this.shutdown && (this.config.failFast || c.spec.essential)) {
          this.host.log(`${c.name} ended (${c.state}, ${c.reason}) and is essential: stopping everything, exit code ${e.code}`);
          this.stopAll(false, e.code);
        }
        return;
    }
  }

  private spawn(name: string, spec: CompanionSpec): void {
    let pid: number;
    let returned = false;
    let exitedInside = false; // the exit fired before spawn returned: its group is already gone
    try {
      pid = this.host.spawn(
        spec,
        (pid, code, signal) => {
          if (!returned) exitedInside = true;
          this.host.groups?.([], [pid]);
          this.queue.push({ name, event: { type: "exited", pid, code, signal } });
          this.drain();
        },
        (pid: number, report: ProbeReport) => {
          this.queue.push({ name, event: { ...report, pid } });
          this.drain();
        },
      );
    } catch (e) {
      const reason = e instanceof SpawnError ? e.message : `spawn failed: ${(e as Error)?.message ?? e}`;
      this.queue.unshift({ name, event: { type: "spawnFailed", reason, transient: e instanceof SpawnError && e.transient } });
      return;
    }
    returned = true;
    if (!exitedInside) this.host.groups?.([{ pgid: pid, signal: spec.stopSignal, stopMs: spec.stopTimeoutMs }], []);
    // processed next, before an exit that fired inside spawn
    this.queue.unshift({ name, event: { type: "spawned", pid } });
  }

  /**
   * One pass over the deadlines: queue a `deadline` event for each one already due (true), or,
   * when none is, arm the one timer for the earliest (false).
   */
  private scanDeadlines(): boolean {
    const now = this.host.now().mono;
    let due = false;
    let earliest: number | null = null;
    for (const c of this.companions.values()) {
      if (c.deadline === null) continue;
      if (c.deadline <= now) {
        if (this.exitFirst(c, now)) {
          // its process already ended (the loop stalled): take the exit first, look again soon
          const again = now + EXIT_WAIT_STEP_MS;
          if (earliest === null || again < earliest) earliest = again;
          continue;
        }
        this.queue.push({ name: c.name, event: { type: "deadline" } });
        due = true;
      } else if (earliest === null || c.deadline < earliest) earliest = c.deadline;
    }
    if (due || earliest === this.armedAt) return due;
    this.armedAt = earliest;
    this.host.timer(earliest, () => this.onTimer());
    return false;
  }

  /**
   * Exits that already happened go before deadlines that fell due meanwhile (contract §4): true
   * while `c`'s process has ended but its exit event has not arrived, for at most EXIT_WAIT_MS.
   */
  private exitFirst(c: Companion, now: number): boolean {
    if (c.pid === null || !this.host.exitPending?.(c.pid)) {
      this.waitingExit.delete(c.name);
      return false;
    }
    const since = this.waitingExit.get(c.name);
    if (since === undefined) {
      this.waitingExit.set(c.name, now);
      return true;
    }
    if (now - since < EXIT_WAIT_MS) return true;
    this.waitingExit.delete(c.name);
    return false;
  }

  private onTimer(): void {
    this.armedAt = null;
    this.drain();
  }

  // ---------- what the front ends use

  names(): string[] {
    return [...this.order];
  }

  /** the instances NAME.1 … NAME.N of a companion configured with instances, else null */
  instancesOf(base: string): string[] | null {
    const out = this.order.filter((n) => {
      const spec = this.companions.get(n)!.spec;
      return spec.instance !== null && spec.base === base;
    });
    return out.length ? out : null;
  }

  has(name: string): boolean {
    return this.companions.has(name);
  }

  status(names?: string[]): StatusEntry[] {
    const now = this.host.now();
    const list = names ?? this.order;
    const pids = list.map((n) => this.companions.get(n)!.pid).filter((p): p is number => p !== null);
    const samples = this.host.sampleMany?.(pids, STATUS_SAMPLE_BUDGET_MS);
    return list.map((n) => {
      const c = this.companions.get(n)!;
      const usage = c.pid === null ? null : samples ? (samples.get(c.pid) ?? null) : (this.host.sample?.(c.pid) ?? null);
      return describe(c, now, usage, this.host.lastStderr?.(n) ?? [], this.host.logProblem?.(n) ?? null);
    });
  }

  command(cmd: "start" | "stop" | "restart", name: string): Reply {
    if (this.shutdown && cmd !== "stop") return { ok: false, message: `sup is shutting down; ${cmd} refused`, code: "STOPPING" };
    const event: Event = cmd === "stop" ? { type: "stop", kind: "manual" } : { type: cmd };
    return this.submit(name, event) ?? { ok: false, message: `unknown companion ${name}`, code: "BAD_NAME" };
  }

  /**
   * start/stop/restart with `wait` (contract §5): the reply comes with the outcome — RUNNING
   * (ok), FATAL or an exit before it was up (FAILED), down (stop: ok) — or TIMEOUT after
   * `timeoutMs` (default: what the command needs, plus 5 s). A STOPPING companion is started
   * once its old tree is gone. `signal` aborted (the client hung up) drops the wait.
   */
  async commandWait(cmd: "start" | "stop" | "restart", name: string, timeoutMs?: number, signal?: AbortSignal): Promise<WaitReply> {
    const before = this.companions.get(name);
    if (!before) return { ok: false, message: `unknown companion ${name}`, code: "BAD_NAME" };
    if (this.shutdown && cmd !== "stop") return { ok: false, message: `sup is shutting down; ${cmd} refused`, code: "STOPPING" };
    const draining = before.state === "STOPPING" ? Math.max(0, (before.deadline ?? this.host.now().mono) - this.host.now().mono) + 1000 : 0;
    const event: Event = cmd === "stop" ? { type: "stop", kind: "manual" } : { type: cmd, afterStop: true };
    const reply = this.submit(name, event)!;
    if (!reply.ok) return reply;
    if (cmd === "start" && before.state === "RUNNING") return reply; // already running
    const spec = before.spec;
    const ms = timeoutMs ?? (cmd === "stop" ? spec.stopTimeoutMs : (cmd === "restart" ? spec.reloadTimeoutMs : draining) + this.upWithinMs(name)) + WAIT_MARGIN_MS;
    const outcome = cmd === "stop" ? stopOutcome(name) : startOutcome(name, before, cmd === "start" ? "started" : "restarted");
    // WAITING: what it waits for may be started by the next request of the same batch
    // (`sup start app off`): judge it once that batch is in
    if (this.companions.get(name)?.state === "WAITING") await new Promise<void>((r) => (this.host.soon ? this.host.soon(r) : r()));
    return this.waits.add(outcome, ms, (get) => timedOut(name, get, ms / 1000), signal);
  }

  /**
   * How long `name` may take to be up (ms): its ready check's `within` (else startsecs), plus the
   * longest chain of its dependencies not met yet.
   */
  private upWithinMs(name: string, depth = 0): number {
    const c = this.companions.get(name);
    if (!c || depth > this.companions.size) return 0;
    const own = c.spec.ready ? c.spec.ready.withinMs : c.spec.startsecsMs;
    return own + Math.max(0, ...this.unmet(c.spec).map((d) => this.upWithinMs(d.name, depth + 1)));
  }

  /** nothing is on its way up: no companion STARTING or WAITING (sup's own READY=1) */
  settled(): boolean {
    for (const c of this.companions.values()) if (c.state === "STARTING" || (c.state === "WAITING" && !blocked(c))) return false;
    return true;
  }

  /** look after every drain of the queue (a change that is not a transition: a dependency stuck) until the returned function is called */
  onDrain(fn: () => void): () => void {
    this.drained.add(fn);
    return () => this.drained.delete(fn);
  }

  /** hear of every state change until the returned function is called */
  onTransition(fn: (e: Transition) => void): () => void {
    this.transitions.add(fn);
    return () => this.transitions.delete(fn);
  }

  /** CPU seconds of each running companion's tree (cached samples, for metrics) */
  cpuSeconds(): Map<string, number | null> {
    const out = new Map<string, number | null>();
    for (const n of this.order) {
      const c = this.companions.get(n)!;
      out.set(n, c.pid === null ? null : (this.host.sample?.(c.pid)?.cpuSeconds ?? null));
    }
    return out;
  }

  /** replies waiting for an outcome right now (info's `waiting_replies`) */
  get waitingReplies(): number {
    return this.waits.size;
  }

  /** the `wait` command: until every name is up (for "ready") or down (for "stopped"), or TIMEOUT with their entries */
  waitFor(names: string[], want: "ready" | "stopped", timeoutMs: number, signal?: AbortSignal): Promise<WaitReply> {
    const there = (c: Companion | undefined) => !c || (want === "stopped" ? isDown(c) : isUp(c) || (c.state === "EXITED" && c.lastExitCode === 0 && c.spec.restart !== "always"));
    return this.waits.add(
      (get) => (names.every((n) => there(get(n))) ? { ok: true, message: `${names.length} companion(s) ${want}` } : null),
      timeoutMs,
      () => ({ ok: false, code: "TIMEOUT", message: `not ${want} after ${timeoutMs / 1000}s: ${names.filter((n) => !there(this.companions.get(n))).join(", ")}`, companions: this.status(names.filter((n) => this.companions.has(n))) }),
      signal,
    );
  }

  /**
   * max_memory: restart each RUNNING companion whose tree's resident memory (bytes, sampled by
   * the host) is over its limit, with the reason in the log and status. Costs nothing for
   * companions without the key; the caller runs it about once a second while any has it.
   */
  checkMemory(): void {
    for (const c of this.companions.values()) {
      const limit = c.spec.maxMemoryBytes;
      if (limit === null || c.state !== "RUNNING" || c.pid === null) continue;
      const rss = this.host.sample?.(c.pid)?.rssBytes;
      if (rss === undefined || rss <= limit) continue;
      this.submit(c.name, { type: "restart", reason: `memory limit: ${megabytes(rss)} > ${megabytes(limit)}` });
    }
  }

  /** whether any companion has a max_memory to watch */
  get watchesMemory(): boolean {
    for (const c of this.companions.values()) if (c.spec.maxMemoryBytes !== null) return true;
    return false;
  }

  signal(name: string, signal: string, group: boolean): Reply {
    const c = this.companions.get(name);
    if (!c) return { ok: false, message: `unknown companion ${name}`, code: "BAD_NAME" };
    if (c.pid === null) return { ok: false, message: `${name} is not running (${c.state})`, code: "NOT_RUNNING" };
    this.host.signal(c.pid, signal, group);
    return { ok: true, message: `${name} sent ${signal}${group ? " (group)" : ""}, pid ${c.pid}` };
  }

  /** apply a validated new config as a per-companion diff; unchanged companions are not touched */
  /** what reread(next) would do, changing nothing (`reread --dry-run`) */
  rereadPlan(next: SupConfig): RereadResult {
    const result: RereadResult = { added: [], removed: [], restarted: [], updated: [], unchanged: [], warnings: [] };
    const wanted = new Set(next.companions.map((s) => s.name));
    for (const name of this.order) if (!wanted.has(name) && !this.companions.get(name)!.removed) result.removed.push(name);
    for (const spec of next.companions) {
      const c = this.companions.get(spec.name);
      if (!c || c.removed) result.added.push(spec.name);
      else if (c.spec.hash === spec.hash) (c.spec.policyHash === spec.policyHash ? result.unchanged : result.updated).push(spec.name);
      else if (c.manualStop || this.shutdown) result.unchanged.push(spec.name);
      else result.restarted.push(spec.name);
    }
    for (const list of Object.values(result)) list.sort();
    return result;
  }

  reread(next: SupConfig): RereadResult {
    const result: RereadResult = { added: [], removed: [], restarted: [], updated: [], unchanged: [], warnings: [] };
    const wanted = new Map(next.companions.map((s) => [s.name, s]));
    this.config = next;
    for (const name of [...this.order]) {
      const c = this.companions.get(name)!;
      if (!wanted.has(name) && !c.removed) {
        result.removed.push(name);
        this.submit(name, { type: "stop", kind: "remove" });
      }
    }
    const newOrder: string[] = [];
    for (const spec of next.companions) {
      newOrder.push(spec.name);
      const c = this.companions.get(spec.name);
      if (!c) {
        result.added.push(spec.name);
        this.add(spec);
        if (!this.shutdown && spec.autostart) this.submit(spec.name, { type: "start" });
      } else if (c.removed) {
        // removed earlier, still draining: comes back once the old process is gone
        result.added.push(spec.name);
        this.submit(spec.name, { type: "changed", spec });
      } else if (c.spec.hash === spec.hash) {
        if (c.spec.policyHash === spec.policyHash) result.unchanged.push(spec.name);
        else {
          // timings, policy, sinks: in force from now on, for the process that runs
          const next = updatedInPlace(c, spec);
          this.companions.set(spec.name, next);
          this.host.specUpdated?.(spec);
          // a changed, added or removed check applies to the run that is being watched now
          this.rewatch(c, next, true);
          result.updated.push(spec.name);
        }
      } else if (c.manualStop || this.shutdown) {
        // a manually stopped companion keeps the new config and stays stopped
        this.companions.set(spec.name, { ...c, spec });
        result.unchanged.push(spec.name);
      } else {
        result.restarted.push(spec.name);
        this.submit(spec.name, { type: "changed", spec });
      }
    }
    // draining removed companions keep their place after the new order
    this.order = [...newOrder, ...this.order.filter((n) => !wanted.has(n) && this.companions.has(n))];
    this.indexDependents();
    // new dependencies may be met, or no longer be
    this.anyWaiting = true;
    this.drain();
    for (const list of Object.values(result)) list.sort();
    return result;
  }

  /** stop everything (graceful: stop_signal, SIGKILL at stop_timeout; fast: SIGKILL now), then exit */
  stopAll(fast: boolean, code = 0, capMs?: number): void {
    if (this.shutdown) {
      if (fast && !this.shutdown.fast) this.shutdown.fast = true;
      else if (capMs === undefined) {
        this.checkShutdownDone();
        return;
      }
    } else {
      this.shutdown = { code, fast };
      this.host.stopping?.(code);
    }
    for (const name of this.order) {
      this.queue.push({ name, event: fast ? { type: "kill" } : { type: "stop", kind: "shutdown", ...(capMs !== undefined ? { capMs } : {}) } });
    }
    this.drain();
  }

  get stopping(): boolean {
    return this.shutdown !== null;
  }

  private checkShutdownDone(): void {
    if (!this.shutdown || this.exited || this.draining) return;
    for (const c of this.companions.values()) if (c.pid !== null || c.state === "STARTING") return;
    this.exited = true;
    this.host.timer(null, () => {});
    this.host.exit(this.shutdown.code);
  }

  private add(spec: CompanionSpec): void {
    this.companions.set(spec.name, newCompanion(spec));
    if (!this.order.includes(spec.name)) this.order.push(spec.name);
  }

  /** for tests and debugging */
  get(name: string): Companion | undefined {
    return this.companions.get(name);
  }
}
