// The manager process (`sup __manager`): arms parent-death, loads the config, takes the control
// socket, then runs the Supervisor. Talks to the arbiter over Bun's IPC channel.
import { configPath, loadConfig } from "../config/load.ts";
import { gracefulBudgetMs, policyHash } from "../config/validate.ts";
import { chmodSync, chownSync } from "node:fs";
import type { CompanionSpec, SupConfig } from "../config/schema.ts";
import { ControlServer, SocketPathError } from "../control/server.ts";
import type { ControlApi } from "../control/protocol.ts";
import { basename } from "node:path";
import { clearSignalMask, getppid, monotonicUsec, setChildSubreaper, setParentDeathSignal, setProcessName } from "../os/libc.ts";
import { Containment } from "../contain/containment.ts";
import { BoundedWriter, log, setLogRole } from "../os/log.ts";
import { writable } from "../os/libc.ts";
import { Probes } from "../probes/probes.ts";
import { Logs } from "../logs/hub.ts";
import { EventHub } from "../observe/events.ts";
import { metricsText } from "../observe/metrics.ts";
import { serveMetrics } from "../observe/http.ts";
import type { Json } from "../control/protocol.ts";
import type { Reply } from "../core/types.ts";
import { VERSION } from "../version.ts";
import { BunHost } from "./bun-host.ts";
import { EXIT_BAD_CONFIG, EXIT_SOCKET, type Intent, type ToArbiter, type ToManager } from "../ipc.ts";
import type { OwnedGroup } from "./host.ts";
import { Supervisor } from "./supervisor.ts";


/**
 * With the arbiter gone nobody would clean up after the manager: every companion gets its stop
 * signal and at most this long before SIGKILL, so nothing is left within 2 s (contract §10).
 */
const ORPHANED_STOP_MS = 1500;
/** most bytes of captured lines kept for a console (sup's stdout) that is not being read */
const CONSOLE_BACKLOG_BYTES = 1024 * 1024;
/** how long a new manager waits for what the last one left (the arbiter sends it at once) */
const INTENT_WAIT_MS = 1000;
/** how often companions with max_memory have their tree's memory looked at */
const MEMORY_CHECK_MS = 1000;

/** `flush` runs once at the end of this tick, however often the returned function is called */
function perTick(flush: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      flush();
    });
  };
}

/** tell the arbiter; false when there is no channel (the manager runs alone) */
function tell(msg: ToArbiter): boolean {
  try {
    return process.send?.(msg) ?? false;
  } catch {
    return false;
  }
}

/** the read-only status socket: anyone on the host may look (contract §5) */
const STATUS_ACCESS = { mode: 0o666, gid: null };
/** the control socket: 0600, or 0660 owned by socket_group */
function controlAccess(c: SupConfig): { mode: number; gid: number | null } {
  return c.socketGid === null ? { mode: 0o600, gid: null } : { mode: 0o660, gid: c.socketGid };
}

/**
 * One socket the manager serves (the control socket, or the read-only status socket): opened
 * at start, moved by a reread (the new path is taken before the old one is let go, and open
 * connections keep their replies), closed when the config drops it.
 */
class Endpoint {
  private server: ControlServer | null = null;
  private path: string | null = null;
  private access: { mode: number; gid: number | null } = { mode: 0o600, gid: null };

  constructor(
    private readonly api: ControlApi,
    private readonly readOnly: boolean,
    private readonly what: string,
  ) {}

  /** first listen; throws SocketPathError */
  async open(path: string, access: { mode: number; gid: number | null }): Promise<void> {
    const server = new ControlServer(this.api, log, this.readOnly);
    await server.listen(path, access);
    [this.server, this.path, this.access] = [server, path, access];
  }

  /** serve `path` (null: none) with `access`; returns what could not be done, or null */
  async place(path: string | null, access: { mode: number; gid: number | null }): Promise<string | null> {
    if (path === this.path) {
      if (path === null || (access.mode === this.access.mode && access.gid === this.access.gid)) return null;
      try {
        if (access.gid !== null) chownSync(path, -1, access.gid);
        chmodSync(path, access.mode);
        this.access = access;
        return null;
      } catch (e) {
        return `cannot change the access of the ${this.what} ${path}: ${(e as Error).message}`;
      }
    }
    if (path === null) {
      this.server?.stopListening();
      [this.server, this.path] = [null, null];
      log(`${this.what} closed`);
      return null;
    }
    const old = this.server;
    try {
      await this.open(path, access);
    } catch (e) {
      return `cannot move the ${this.what} to ${path}: ${(e as Error).message}${this.path ? `; still serving ${this.path}` : ""}`;
    }
    old?.stopListening(); // open connections (the client that asked for this reread among them) keep their replies
    log(`${this.what} ${old ? "moved to" : "serving"} ${path}`);
    return null;
  }

  stop(): void {
    this.server?.stop();
    this.server = null;
  }
}

export async function runManager(configFlag: string | undefined): Promise<void> {
  setLogRole(`sup[manager ${process.pid}]`);
  // handlers first: a signal during start-up must not kill the manager by default action.
  // Until the supervisor exists, a stop is remembered and a reload is moot (the file is being read now).
  let early: "graceful" | "fast" | null = null;
  let onStop: (fast: boolean, capMs?: number) => void = (fast) => {
    early = fast ? "fast" : (early ?? "graceful");
  };
  let onHup: () => void = () => {};
  const parent = Number(process.env.SUP_MANAGER_PARENT || 0);
  /** say which signal makes sup stop, and whether it is the arbiter's death (PDEATHSIG) */
  const stopSignal = (sig: string, fast: boolean) => {
    if (parent && getppid() !== parent) return arbiterGone(`${sig} after it`);
    log(`${sig} received: ${fast ? "fast stop (SIGKILL)" : "graceful stop"} of every companion`);
    onStop(fast);
  };
  process.on("SIGTERM", () => stopSignal("SIGTERM", false));
  process.on("SIGINT", () => stopSignal("SIGINT", false));
  process.on("SIGQUIT", () => stopSignal("SIGQUIT", true));
  process.on("SIGHUP", () => onHup());
  let onUsr1: () => void = () => {};
  process.on("SIGUSR1", () => onUsr1());
  // the parent-death signal (armed below) is SIGUSR2, which nobody else sends the manager: a
  // plain SIGTERM is then always an operator's or the arbiter's stop, never read as its death
  let orphaned = false;
  const arbiterGone = (via: string) => {
    if (orphaned) return;
    orphaned = true;
    log(`arbiter ${parent} is gone (${via}); stopping every companion within ${ORPHANED_STOP_MS / 1000}s`);
    onStop(false, ORPHANED_STOP_MS);
  };
  process.on("SIGUSR2", () => {
    // PDEATHSIG fires when the arbiter's spawning *thread* ends; the process is gone once our
    // parent changes (at once on a SIGKILL). A thread that ended alone is not a death.
    const deadline = performance.now() + 500;
    const check = () => {
      if (getppid() !== parent) return arbiterGone("parent-death signal");
      if (performance.now() < deadline) return void setTimeout(check, 10);
      log("parent-death signal from a thread of the arbiter, which is still running: ignored");
    };
    check();
  });
  process.on("SIGPIPE", () => {});
  // a bug must not take every companion down with the manager: log it and keep supervising
  process.on("uncaughtException", (e) => log(`internal error (kept running): ${(e as Error)?.stack ?? e}`));
  process.on("unhandledRejection", (e) => log(`internal error (kept running): ${(e as Error)?.stack ?? e}`));
  clearSignalMask();
  setParentDeathSignal(12); // SIGUSR2: see its handler above
  setProcessName(basename(process.argv0 || "sup").replace(/ \(deleted\)$/, ""));
  if (parent && getppid() !== parent) {
    log(`arbiter ${parent} is gone before the manager started; exiting`);
    process.exit(1);
  }

  const file = configPath(configFlag);
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    for (const p of loaded.problems) log(p);
    process.exit(EXIT_BAD_CONFIG);
  }
  let config = loaded.config;

  // every process a companion starts stays below the manager (subreaper) or in its cgroup
  setChildSubreaper();
  const contain = new Containment(process.env.SUP_MANAGER_INSTANCE || String(parent || process.pid), process.env.SUP_CONTAINMENT);
  process.on("SIGCHLD", () => contain.reapOrphans());
  // captured output: `name | line` on sup's stdout (bounded: a reader that stalls costs dropped
  // lines, counted and reported), files, rings, followers
  const consoleOut = new BoundedWriter(1, CONSOLE_BACKLOG_BYTES, writable, (n) => `[sup] ${n} lines dropped: sup's stdout was not being read\n`);
  const logs = new Logs(consoleOut, !!process.stdout.isTTY && !process.env.NO_COLOR, log);
  // readiness and health channels of the runs (sd_notify sockets live in a private folder)
  const probes = new Probes(logs, log, (pid) => contain.helper(pid));
  onUsr1 = () => {
    const n = logs.reopen();
    log(`SIGUSR1: reopened ${n} log file(s); a file a companion writes itself is reopened at its next start`);
  };

  /** what serves the outside (sockets, the metrics listener): closed first when the manager ends */
  const listeners: { stop(): void }[] = [];
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    for (const l of listeners) l.stop();
    probes.close();
    // nothing of any companion outlives the manager: escaped orphans included
    void contain.killEverything().finally(() => {
      log(`all companions stopped; exiting with ${code}`);
      process.exit(code);
    });
  };
  // what the operator decided, batched per tick for the arbiter (it outlives this manager)
  const pendingIntent = new Map<string, Intent>();
  // the arbiter sends what the previous manager left (empty at first start) right after the spawn
  const inherited = new Promise<Intent[]>((resolve) => {
    if (!process.send) return resolve([]);
    const timer = setTimeout(() => resolve([]), INTENT_WAIT_MS);
    process.on("message", (m) => {
      const msg = m as ToManager;
      if (msg?.t !== "intent") return;
      clearTimeout(timer);
      resolve(msg.entries);
    });
  });
  // group changes and intent go to the arbiter once per tick: cheap at 1000 companions
  let pendingAdd: OwnedGroup[] = [];
  let pendingDel: number[] = [];
  const flushGroups = perTick(() => {
    tell({ t: "groups", add: pendingAdd, del: pendingDel });
    pendingAdd = [];
    pendingDel = [];
  });
  const flushIntent = perTick(() => {
    tell({ t: "intent", entries: [...pendingIntent.values()] });
    pendingIntent.clear();
  });
  const host = new BunHost({
    groups: (add, del) => {
      pendingAdd.push(...add);
      pendingDel.push(...del);
      flushGroups();
    },
    stopping: (code) => tell({ t: "stopping", code }),
    intent: (entry) => {
      pendingIntent.set(entry.name, entry);
      flushIntent();
    },
    exit,
  }, contain, logs, probes);
  const sup = new Supervisor(config, host);
  // sup's own sd_notify (systemd Type=notify): READY=1 once everything it started is up
  const ownNotify = new OwnNotify(sup, (text) => tell({ t: "notify", text }));
  // the event stream: every state change and sup's own lifecycle (nothing is built without a subscriber)
  const events = new EventHub();
  sup.onTransition((e) => events.emit(() => ({ ...e })));
  const lifecycle = (event: string, extra: Json = {}) => events.emit(() => ({ ts: new Date().toISOString(), event, ...extra }));
  const managerRestarts = Math.max(0, Number(process.env.SUP_MANAGER_GENERATION || 1) - 1);
  const metrics = () => {
    const cpu = sup.cpuSeconds();
    return metricsText(
      sup.status().map((e) => ({ ...e, cpuSeconds: cpu.get(e.name) ?? null })),
      managerRestarts,
      VERSION,
    );
  };

  // `scale NAME N`: counts that override the file's until a reread changes that count in the file
  const scaled = new Map<string, { count: number; inFile: number }>();
  const countsIn = (c: SupConfig) => {
    const out = new Map<string, number>();
    for (const s of c.companions) out.set(s.base, (out.get(s.base) ?? 0) + 1);
    return out;
  };
  /** the file, with the scale overrides whose count the file has not changed since */
  const loadWithScale = async () => {
    const plain = await loadConfig(config.file);
    if (!plain.ok || !scaled.size) return plain;
    const inFile = countsIn(plain.config);
    for (const [base, o] of scaled) if (inFile.get(base) !== o.inFile) scaled.delete(base);
    if (!scaled.size) return plain;
    return loadConfig(config.file, process.env, Object.fromEntries([...scaled].map(([b, o]) => [b, o.count])));
  };
  /** run `count` instances of `base` now: new ones start, the highest numbers stop */
  const scale = (base: string, count: number) => {
    const run = rereads.then(async () => {
      if (!config.companions.some((s) => s.base === base)) return { ok: false as const, message: `unknown companion ${base}`, code: "BAD_NAME" as const };
      const plain = await loadConfig(config.file);
      const fresh = await loadConfig(config.file, process.env, { ...Object.fromEntries([...scaled].map(([b, o]) => [b, o.count])), [base]: count });
      if (!plain.ok || !fresh.ok) return { ok: false as const, message: `invalid config: ${(!fresh.ok ? fresh.problems : !plain.ok ? plain.problems : []).join("; ")}`, code: "INVALID_CONFIG" as const };
      const mine = fresh.config.companions.filter((s) => s.base === base);
      const at = config.companions.findIndex((s) => s.base === base);
      // a dependency on `base` means all of its instances: the new set, with the same condition
      const others = config.companions.filter((s) => s.base !== base).map((s) => withInstances(s, base, mine.map((m) => m.name), config));
      const next = { ...config, companions: [...others.slice(0, at), ...mine, ...others.slice(at)] };
      const result = sup.reread(next);
      config = next;
      sup.adoptConfig(config);
      scaled.set(base, { count, inFile: countsIn(plain.config).get(base) ?? 0 });
      log(`scale ${base} ${count}: added [${result.added}] removed [${result.removed}]`);
      lifecycle("scale", { name: base, instances: count, added: result.added, removed: result.removed });
      return { ok: true as const, message: `${base}: ${count} instance(s)`, added: result.added, removed: result.removed };
    });
    // one reread or scale at a time; a failed one never blocks the next
    rereads = run.then(() => undefined, () => undefined);
    return run.then((r) => r as Reply & { added?: string[]; removed?: string[] }, (e) => ({ ok: false, message: `internal error: ${e}`, code: "INTERNAL" as const }));
  };
  let rereads: Promise<unknown> = Promise.resolve();
  let afterReread: () => void = () => {};
  const reread = (dryRun = false): ReturnType<ControlApi["reread"]> => {
    // one reread at a time, in arrival order
    const run = rereads.then(async () => {
      const next = await loadWithScale();
      if (!next.ok) {
        for (const p of next.problems) log(`reread: ${p}`);
        log("reread: config invalid, nothing changed");
        return { ok: false as const, error: next.problems.join("; ") };
      }
      if (dryRun) {
        const plan = sup.rereadPlan(next.config);
        return { ok: true as const, result: plan };
      }
      ownNotify.reloading();
      const result = sup.reread(next.config);
      let applied = next.config;
      // what sup reports stays true: a socket that cannot move keeps its old path, and a later reread retries
      const moved = await control.place(next.config.socket, controlAccess(next.config));
      if (moved) {
        result.warnings.push(moved);
        applied = { ...applied, socket: config.socket, socketGid: config.socketGid };
      }
      const statusMoved = await status.place(next.config.statusSocket, STATUS_ACCESS);
      if (statusMoved) {
        result.warnings.push(statusMoved);
        applied = { ...applied, statusSocket: config.statusSocket };
      }
      config = applied;
      sup.adoptConfig(config);
      afterReread();
      tell({ t: "budget", ms: gracefulBudgetMs(config), stateFile: config.stateFile });
      log(`reread: added [${result.added}] removed [${result.removed}] restarted [${result.restarted}] updated [${result.updated}] unchanged ${result.unchanged.length}${result.warnings.length ? `; not applied: ${result.warnings.join("; ")}` : ""}`);
      lifecycle("reload", { added: result.added, removed: result.removed, restarted: result.restarted, updated: result.updated });
      ownNotify.reloaded();
      return { ok: true as const, result };
    });
    rereads = run.then(() => undefined, () => undefined);
    return run;
  };

  const api: ControlApi = {
    names: () => sup.names(),
    has: (n) => sup.has(n),
    instancesOf: (n) => sup.instancesOf(n),
    status: (names) => sup.status(names),
    command: (cmd, name) => sup.command(cmd, name),
    commandWait: (cmd, name, timeoutMs, signal) => sup.commandWait(cmd, name, timeoutMs, signal),
    logs: (names, lines, streams) => logs.query(names, lines, streams).map((e) => ({ ...e })),
    follow: (names, streams, send) => logs.follow({ names: names ? new Set(names) : null, streams: new Set(streams), send: (e) => send({ ...e }) }),
    waitFor: (names, want, timeoutMs, signal) => sup.waitFor(names, want, timeoutMs, signal),
    scale: (base, count) => scale(base, count),
    events: (send) => events.subscribe(send),
    metrics,
    shutdown: (fast) => {
      // the arbiter stops sup as on SIGTERM/SIGQUIT (and exits 0); this reply goes out first
      log(`shutdown${fast ? " --fast" : ""} requested over the control socket`);
      setTimeout(() => (tell({ t: "shutdown", fast }) ? undefined : onStop(fast)), 0);
      return { ok: true, message: "sup stopping" };
    },
    signal: (name, sig, group) => sup.signal(name, sig, group),
    reread,
    version: VERSION,
    info: () => ({
      pid: parent || null,
      manager_pid: process.pid,
      manager_restarts: Math.max(0, Number(process.env.SUP_MANAGER_GENERATION || 1) - 1),
      started_at: Number(process.env.SUP_MANAGER_STARTED_AT) || null,
      config: config.file,
      socket: config.socket,
      status_socket: config.statusSocket,
      containment: contain.mode,
      waiting_replies: sup.waitingReplies,
    }),
  };

  const control = new Endpoint(api, false, "control socket");
  const status = new Endpoint(api, true, "status socket");
  listeners.push(control, status);
  try {
    await control.open(config.socket, controlAccess(config));
  } catch (e) {
    log(e instanceof SocketPathError ? e.message : `cannot listen on ${config.socket}: ${(e as Error).message}`);
    process.exit(EXIT_SOCKET);
  }
  if (config.statusSocket) {
    const problem = await status.place(config.statusSocket, STATUS_ACCESS);
    if (problem) log(problem); // the read-only socket is a convenience: sup runs without it
  }

  // GET /metrics over HTTP ([sup] metrics = "host:port"), sampled per scrape
  if (config.metrics) {
    try {
      const http = serveMetrics(config.metrics, metrics);
      listeners.push({ stop: () => http.stop(true) });
      log(`metrics on http://${config.metrics}/metrics`);
    } catch (e) {
      log(`cannot serve metrics on ${config.metrics}: ${(e as Error).message}`);
      process.exit(EXIT_SOCKET);
    }
  }

  onStop = (fast, capMs) => {
    lifecycle("shutdown", { fast });
    sup.stopAll(fast, 0, capMs);
  };
  onHup = () => {
    log("SIGHUP: rereading config");
    void reread();
  };
  process.on("disconnect", () => {
    // the IPC channel closed: the arbiter is gone (PDEATHSIG normally said so first)
    arbiterGone("its IPC channel closed");
  });

  // max_memory: one check a second, and only while some companion has the key
  let memoryTimer: ReturnType<typeof setInterval> | null = null;
  const watchMemory = () => {
    if (sup.watchesMemory && !memoryTimer) memoryTimer = setInterval(() => sup.checkMemory(), MEMORY_CHECK_MS);
    else if (!sup.watchesMemory && memoryTimer) {
      clearInterval(memoryTimer);
      memoryTimer = null;
    }
  };
  watchMemory();
  afterReread = watchMemory;

  tell({ t: "budget", ms: gracefulBudgetMs(config), stateFile: config.stateFile });
  tell({ t: "ready", socket: config.socket });
  lifecycle("manager_started", { pid: process.pid, restarts: managerRestarts });
  if (early) {
    log(`stop requested during start-up; starting nothing`);
    return sup.stopAll(early === "fast");
  }
  const intent = await inherited;
  if (intent.length) {
    sup.restoreIntent(intent);
    const stopped = intent.filter((e) => e.manualStop && sup.has(e.name)).map((e) => e.name);
    log(`took over from the previous manager: counters of ${intent.length} companion(s)${stopped.length ? `; left stopped as the operator wanted: ${stopped.join(", ")}` : ""}`);
  }
  if (sup.stopping) return;
  const toStart = sup.current.companions.filter((c) => c.autostart && !sup.get(c.name)?.manualStop).length;
  log(`serving ${config.socket}; starting ${toStart} of ${config.companions.length} companion(s)`);
  sup.startAll(() => ownNotify.started());
}

/** STATUS= at most this often (ms): a restart storm does not flood systemd */
const STATUS_EVERY_MS = 1000;

/**
 * What sup tells its own supervisor when `sup run` has NOTIFY_SOCKET (contract §9): READY=1 once
 * every companion it started is RUNNING (and ready) or has finished — none STARTING or WAITING —,
 * STATUS= with a one-line summary as states change (at most once a second), RELOADING=1 and
 * READY=1 around a reload. The arbiter sends them (it is the pid systemd watches) and says
 * STOPPING=1 itself. Nothing is built without NOTIFY_SOCKET.
 */
class OwnNotify {
  private readonly on = !!process.env.NOTIFY_SOCKET;
  private ready = false;
  private armed = false;
  private statusTimer: ReturnType<typeof setTimeout> | null = null;
  private lastStatus = "";

  constructor(
    private readonly sup: Supervisor,
    private readonly send: (text: string) => void,
  ) {
    if (this.on) {
      sup.onTransition(() => this.changed());
      // READY=1 may also become due without a transition (a dependency is found stuck): look after each drain until it is sent
      const off = sup.onDrain(() => {
        if (this.ready) return off();
        if (this.armed && this.sup.settled()) this.changed();
      });
    }
  }

  /** startAll ran: from now on, "everything is up" can be true */
  started(): void {
    this.armed = true;
    this.changed();
  }

  reloading(): void {
    if (!this.on) return;
    const usec = monotonicUsec(); // CLOCK_MONOTONIC, as systemd compares it (Bun's hrtime is another clock)
    this.send(`RELOADING=1${usec === null ? "" : `\nMONOTONIC_USEC=${usec}`}`);
    this.ready = false;
  }

  reloaded(): void {
    this.changed();
  }

  private changed(): void {
    if (!this.on || !this.armed) return;
    if (!this.ready && this.sup.settled()) {
      this.ready = true;
      this.send(`READY=1\nSTATUS=${this.summary()}`);
      this.lastStatus = this.summary();
      return;
    }
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      const s = this.summary();
      if (s !== this.lastStatus) this.send(`STATUS=${s}`);
      this.lastStatus = s;
    }, STATUS_EVERY_MS);
  }

  /** "5 running, 1 starting, 1 backoff" */
  private summary(): string {
    const counts = new Map<string, number>();
    for (const e of this.sup.names()) {
      const state = this.sup.get(e)?.state;
      if (state) counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    const order = ["RUNNING", "STARTING", "WAITING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "STOPPED"];
    return order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s.toLowerCase()}`).join(", ") || "no companions";
  }
}

/** `spec` with its dependencies on instances of `base` pointing at `names` (a scale changed them) */
function withInstances(spec: CompanionSpec, base: string, names: string[], config: SupConfig): CompanionSpec {
  const ofBase = new Set(config.companions.filter((c) => c.base === base).map((c) => c.name));
  const hit = spec.dependsOn.find((d) => ofBase.has(d.name));
  if (!hit) return spec;
  const dependsOn = [...spec.dependsOn.filter((d) => !ofBase.has(d.name)), ...names.map((name) => ({ name, condition: hit.condition }))];
  const { hash: _h, policyHash: _p, ...rest } = { ...spec, dependsOn };
  return { ...rest, hash: spec.hash, policyHash: policyHash(rest) };
}
