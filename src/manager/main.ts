// The manager process (`sup __manager`): arms parent-death, loads the config, takes the control
// socket, then runs the Supervisor. Talks to the arbiter over Bun's IPC channel.
import { configPath, loadConfig } from "../config/load.ts";
import { gracefulBudgetMs } from "../config/validate.ts";
import { ControlServer, SocketPathError } from "../control/server.ts";
import type { ControlApi } from "../control/protocol.ts";
import { basename } from "node:path";
import { clearSignalMask, getppid, setChildSubreaper, setParentDeathSignal, setProcessName } from "../os/libc.ts";
import { Containment } from "../contain/containment.ts";
import { log, setLogRole } from "../os/log.ts";
import { VERSION } from "../version.ts";
import { BunHost } from "./bun-host.ts";
import { EXIT_BAD_CONFIG, EXIT_SOCKET, type ToArbiter } from "../ipc.ts";
import type { OwnedGroup } from "./host.ts";
import { Supervisor } from "./supervisor.ts";


/**
 * With the arbiter gone nobody would clean up after the manager: every companion gets its stop
 * signal and at most this long before SIGKILL, so nothing is left within 2 s (contract §10).
 */
const ORPHANED_STOP_MS = 1500;
/** how often companions with max_memory have their tree's memory looked at */
const MEMORY_CHECK_MS = 1000;

function tell(msg: ToArbiter): void {
  try {
    process.send?.(msg);
  } catch {}
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
  process.on("SIGUSR1", () => log("SIGUSR1: companions' log files are reopened at their next start; sup writes no files of its own"));
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

  let server: ControlServer | null = null;
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    server?.stop();
    // nothing of any companion outlives the manager: escaped orphans included
    void contain.killEverything().finally(() => {
      log(`all companions stopped; exiting with ${code}`);
      process.exit(code);
    });
  };
  // batch group changes per tick: cheap at 1000 companions
  let pendingAdd: OwnedGroup[] = [];
  let pendingDel: number[] = [];
  let flushQueued = false;
  const host = new BunHost({
    groups: (add, del) => {
      pendingAdd.push(...add);
      pendingDel.push(...del);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(() => {
          flushQueued = false;
          tell({ t: "groups", add: pendingAdd, del: pendingDel });
          pendingAdd = [];
          pendingDel = [];
        });
      }
    },
    stopping: (code) => tell({ t: "stopping", code }),
    exit,
  }, contain);
  const sup = new Supervisor(config, host);

  let rereads = Promise.resolve();
  let afterReread: () => void = () => {};
  const reread = (): ReturnType<ControlApi["reread"]> => {
    // one reread at a time, in arrival order
    const run = rereads.then(async () => {
      const next = await loadConfig(config.file);
      if (!next.ok) {
        for (const p of next.problems) log(`reread: ${p}`);
        log("reread: config invalid, nothing changed");
        return { ok: false as const, error: next.problems.join("; ") };
      }
      const result = sup.reread(next.config);
      let applied = next.config;
      if (next.config.socket !== config.socket && server) {
        const problem = await moveSocket(next.config.socket);
        if (problem) {
          // what sup reports stays true: the old path stays in force and a later reread retries
          result.warnings.push(problem);
          applied = { ...next.config, socket: config.socket };
        }
      }
      config = applied;
      sup.adoptConfig(config);
      afterReread();
      tell({ t: "budget", ms: gracefulBudgetMs(config) });
      log(`reread: added [${result.added}] removed [${result.removed}] restarted [${result.restarted}] unchanged ${result.unchanged.length}${result.warnings.length ? `; not applied: ${result.warnings.join("; ")}` : ""}`);
      return { ok: true as const, result };
    });
    rereads = run.then(() => undefined, () => undefined);
    return run;
  };

  const api: ControlApi = {
    names: () => sup.names(),
    has: (n) => sup.has(n),
    status: (names) => sup.status(names),
    command: (cmd, name) => sup.command(cmd, name),
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
      containment: contain.mode,
    }),
  };

  server = new ControlServer(api, log);
  /** take the new path first, then let go of the old one; returns what went wrong, or null */
  const moveSocket = async (path: string): Promise<string | null> => {
    const next = new ControlServer(api, log);
    try {
      await next.listen(path);
    } catch (e) {
      const problem = `cannot move the control socket to ${path}: ${(e as Error).message}; still serving ${config.socket}`;
      log(`reread: ${problem}`);
      return problem;
    }
    // open connections (the client that asked for this reread among them) keep their replies
    server?.stopListening();
    server = next;
    log(`control socket moved to ${path}`);
    return null;
  };
  try {
    await server.listen(config.socket);
  } catch (e) {
    log(e instanceof SocketPathError ? e.message : `cannot listen on ${config.socket}: ${(e as Error).message}`);
    process.exit(EXIT_SOCKET);
  }

  onStop = (fast, capMs) => sup.stopAll(fast, 0, capMs);
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

  tell({ t: "budget", ms: gracefulBudgetMs(config) });
  tell({ t: "ready", socket: config.socket });
  if (early) {
    log(`stop requested during start-up; starting nothing`);
    return sup.stopAll(early === "fast");
  }
  log(`serving ${config.socket}; starting ${config.companions.length} companion(s)`);
  sup.startAll();
}
