// Readiness and liveness of each run (contract §9). Two kinds of source:
// - channels the companion drives: sd_notify (notify.ts) and a notification fd (s6), set up
//   before the spawn and reporting whenever the companion writes — nothing runs in between;
// - probes sup drives (tcp, http, exec, a captured log line, the notify watchdog), switched on
//   and off by the loop through watch(): "ready" while STARTING, "health" while RUNNING, off
//   otherwise. One probe at a time per run, the next one `interval` after the last ended.
// Results go back to the loop as ProbeReports; the loop turns them into core events.
import type { Check, CompanionSpec } from "../config/schema.ts";
import type { ProbeReport, WatchMode } from "../manager/host.ts";
import type { Logs } from "../logs/hub.ts";
import { pipe } from "../os/libc.ts";
import { closeQuietly, readPipe } from "../os/pipes.ts";
import { NotifySockets, type NotifyMessage } from "./notify.ts";
import { runProbe, type ProbeSpawner } from "./run.ts";
import { setLongTimeout, type LongTimer } from "../os/timer.ts";

/** what a run needs at its spawn: more env, and more fds (index = the child's fd number) */
export interface RunChannels {
  env: Record<string, string>;
  /** extra stdio entries from fd 3 on ("ignore" or an fd to pass) */
  fds: ("ignore" | number)[];
  /** after the spawn: the run's pid, and where its reports go */
  attach(pid: number, report: (pid: number, r: ProbeReport) => void): void;
  /** after the spawn (the child has its copies): close the parent's ends meant for the child */
  spawned(): void;
  /** the run is over (or never started): close everything it had */
  close(): void;
}

/** what a run's sd_notify messages said last (repeats are not reported again) */
interface Said {
  ready: boolean;
  status: string | null;
  stopping: boolean;
}

interface Run {
  spec: CompanionSpec;
  report: (r: ProbeReport) => void;
  /** the polled probe or watchdog of the current mode */
  stopWatch: (() => void) | null;
  /** the last WATCHDOG=1 (performance.now ms) */
  lastPing: number;
  /** the watchdog said it failed and no ping came since */
  starved: boolean;
  /** runs an exec probe as the companion would run (cwd, env, user, limits) */
  spawn: ProbeSpawner | undefined;
}

export class Probes {
  private readonly runs = new Map<number, Run>();
  private readonly notify = new NotifySockets();

  constructor(
    private readonly logs: Logs,
    private readonly log: (message: string) => void,
    /** an exec probe's process is Bun's to reap: the containment must leave its zombie alone */
    private readonly helper: (pid: number) => () => void = () => () => {},
  ) {}

  /**
   * The channels a run of `spec` needs before it is spawned (`spawn`: how its exec probes run).
   * Throws when a socket or pipe cannot be made (no fds: a transient failure for the caller).
   */
  prepare(spec: CompanionSpec, spawn?: ProbeSpawner): RunChannels {
    const probe = spec.ready?.probe;
    const extra: RunChannels = { env: {}, fds: [], attach: () => {}, spawned: () => {}, close: () => {} };
    let run: Run | null = null;
    let pid = 0;
    const pending: ProbeReport[] = [];
    const report = (r: ProbeReport) => (run ? run.report(r) : pending.push(r));
    const closers: (() => void)[] = [];
    if (probe?.kind === "notify") {
      // what this run said last: a companion repeating itself (a flood of READY=1) costs the loop nothing
      const said: Said = { ready: false, status: null, stopping: false };
      const sock = this.notify.open((m) => this.onNotify(spec, pid, m, said, report));
      closers.push(sock.close);
      extra.env.NOTIFY_SOCKET = sock.path;
      if (spec.health?.probe.kind === "watchdog") extra.env.WATCHDOG_USEC = String(spec.health.probe.ms * 1000);
    } else if (probe?.kind === "fd") {
      const p = pipe();
      if (!p) throw Object.assign(new Error("cannot make the notification pipe: too many open files (EMFILE)"), { code: "EMFILE" });
      const [readEnd, writeEnd] = p;
      extra.fds = Array.from({ length: probe.fd - 2 }, (_, i) => (i === probe.fd - 3 ? writeEnd : "ignore"));
      let childEnd: number | null = writeEnd;
      extra.spawned = () => {
        if (childEnd !== null) closeQuietly(childEnd);
        childEnd = null;
      };
      closers.push(() => extra.spawned());
      let said = false;
      const reading = readPipe(readEnd, (chunk) => {
        // the first newline is the signal; what follows is read and dropped (a write must never hit EPIPE)
        if (!said && chunk.includes(10)) {
          said = true;
          report({ type: "ready", detail: `a line on fd ${probe.fd}` });
        }
      });
      closers.push(reading.abort);
    }
    extra.attach = (p, sink) => {
      pid = p;
      run = { spec, report: (r) => sink(p, r), stopWatch: null, lastPing: performance.now(), starved: false, spawn };
      this.runs.set(p, run);
      for (const r of pending.splice(0)) run.report(r);
    };
    extra.close = () => {
      const r = this.runs.get(pid);
      r?.stopWatch?.();
      this.runs.delete(pid);
      for (const c of closers.splice(0)) c();
    };
    return extra;
  }

  /**
   * Switch what watches run `pid` (contract §9): its ready probe while STARTING, its health
   * probe (or watchdog) while RUNNING, nothing otherwise. Channels driven by the companion
   * (notify, fd) need nothing here.
   */
  watch(pid: number, spec: CompanionSpec, mode: WatchMode): void {
    const run = this.runs.get(pid);
    if (!run) return;
    run.stopWatch?.();
    run.stopWatch = null;
    run.spec = spec;
    if (mode === "ready" && spec.ready) {
      const p = spec.ready.probe;
      if (p.kind === "log") {
        const re = new RegExp(p.pattern);
        this.logs.watchLines(spec.name, (line) => {
          if (!re.test(line)) return;
          this.logs.watchLines(spec.name, null);
          run.report({ type: "ready", detail: `log line ${JSON.stringify(line.length > 80 ? `${line.slice(0, 77)}...` : line)}` });
        });
        run.stopWatch = () => this.logs.watchLines(spec.name, null);
      } else if (p.kind === "tcp" || p.kind === "http" || p.kind === "exec") {
        // a failure is reported when it says something new: the reason if it is never ready
        let last = "";
        run.stopWatch = poll(spec.ready, run, true, this.helper, (ok, detail) => {
          if (ok) return run.report({ type: "ready", detail });
          if (detail !== last) run.report({ type: "probed", detail });
          last = detail;
        });
      }
    } else if (mode === "health" && spec.health) {
      const check = spec.health;
      if (check.probe.kind === "watchdog") run.stopWatch = this.watchdog(run, check.probe.ms);
      else run.stopWatch = poll(check, run, false, this.helper, (ok, detail) => run.report({ type: "health", ok, detail }));
    }
  }

  /** no WATCHDOG=1 for `ms` is a failed check, reported once per period without one */
  private watchdog(run: Run, ms: number): () => void {
    run.lastPing = performance.now();
    let timer: LongTimer;
    // due `ms` after the last ping (any length: a long timer), looked at again when it fired early
    const arm = () => {
      timer = setLongTimeout(() => {
        const silent = performance.now() - run.lastPing;
        if (silent >= ms) {
          run.starved = true;
          run.lastPing = performance.now(); // the next failure is a whole period later
          run.report({ type: "health", ok: false, detail: `no WATCHDOG=1 for ${Math.round(silent / 1000)}s` });
        }
        arm();
      }, run.lastPing + ms - performance.now());
    };
    arm();
    return () => timer.clear();
  }

  private onNotify(spec: CompanionSpec, pid: number, m: NotifyMessage, said: Said, report: (r: ProbeReport) => void): void {
    const status = m.get("STATUS");
    if (status !== undefined && status.slice(0, 200) !== said.status) {
      said.status = status.slice(0, 200);
      report({ type: "status", text: said.status });
    }
    if (m.get("RELOADING") === "1" && said.ready) {
      said.ready = false;
      report({ type: "unready" });
    }
    if (m.get("READY") === "1" && !said.ready) {
      said.ready = true;
      report({ type: "ready", detail: "READY=1" });
    }
    if (m.get("STOPPING") === "1" && !said.stopping) {
      said.stopping = true;
      this.log(`${spec.name}: says it is stopping (STOPPING=1), pid ${pid}`);
    }
    const dog = m.get("WATCHDOG");
    const run = this.runs.get(pid);
    if (dog === "1" && run) {
      run.lastPing = performance.now();
      if (run.starved) {
        run.starved = false;
        report({ type: "health", ok: true, detail: "WATCHDOG=1" });
      }
    } else if (dog === "trigger") report({ type: "health", ok: false, detail: "WATCHDOG=trigger" });
  }

  /** at the manager's exit: sockets and their folder go */
  close(): void {
    this.notify.close();
  }
}

/**
 * Run `check`'s probe now (first = true: a ready check starts at once) or after its interval,
 * then again `interval` after each one ended, until the returned function is called.
 */
function poll(check: Check, run: Run, first: boolean, helper: (pid: number) => () => void, onResult: (ok: boolean, detail: string) => void): () => void {
  let stopped = false;
  let timer: LongTimer | null = null;
  let cancel: (() => void) | null = null;
  const once = () => {
    timer = null;
    const { done, abort } = runProbe(check.probe, check.timeoutMs, run.spawn, helper);
    cancel = abort;
    void done.then(({ ok, detail }) => {
      cancel = null;
      if (stopped) return;
      onResult(ok, detail);
      if (!stopped) timer = setLongTimeout(once, check.intervalMs);
    });
  };
  timer = setLongTimeout(once, first ? 0 : check.intervalMs);
  return () => {
    stopped = true;
    timer?.clear();
    cancel?.();
  };
}
