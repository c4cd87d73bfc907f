// One probe, run once without blocking the loop (contract §9): a TCP connect, an HTTP GET, or a
// command; each bounded by its timeout, and abortable (the run ended, the mode changed).
import type { Probe } from "../config/schema.ts";
import { setLongTimeout, type LongTimer } from "../os/timer.ts";

export interface ProbeResult {
  ok: boolean;
  /** what it found, for the log and status: "tcp 127.0.0.1:5432", "connection refused", "HTTP 503" */
  detail: string;
}

/**
 * Start one probe of `probe` (an exec probe through `spawn`: the companion's cwd, env, user and
 * limits), giving up after `timeoutMs`. `abort()` ends it at once (an exec probe's process group is killed); the
 * result of an aborted probe is a failure nobody reads.
 */
export function runProbe(
  probe: Probe,
  timeoutMs: number,
  spawn: ProbeSpawner | undefined,
  helper: (pid: number) => () => void = () => () => {},
): { done: Promise<ProbeResult>; abort: () => void } {
  switch (probe.kind) {
    case "tcp":
      return tcp(probe.host, probe.port, timeoutMs);
    case "http":
      return http(probe.url, probe.status, timeoutMs);
    case "exec":
      return exec(probe.argv, timeoutMs, spawn, helper);
    default:
      return { done: Promise.resolve({ ok: false, detail: `${probe.kind} is not polled` }), abort: () => {} };
  }
}

function tcp(host: string, port: number, timeoutMs: number): { done: Promise<ProbeResult>; abort: () => void } {
  const what = `tcp ${host.includes(":") ? `[${host}]` : host}:${port}`;
  let finish: (r: ProbeResult) => void = () => {};
  let sock: { end(): void } | null = null;
  let settled = false;
  const done = new Promise<ProbeResult>((resolve) => {
    finish = (r) => {
      if (settled) return;
      settled = true;
      timer.clear();
      try {
        sock?.end();
      } catch {}
      resolve(r);
    };
  });
  const timer = setLongTimeout(() => finish({ ok: false, detail: `${what}: no answer within ${timeoutMs / 1000}s` }), timeoutMs);
  Bun.connect({
    hostname: host,
    port,
    socket: {
      open(s) {
        sock = s;
        finish({ ok: true, detail: what });
      },
      data() {},
      error(_s, e) {
        finish({ ok: false, detail: `${what}: ${errText(e)}` });
      },
      connectError(_s, e) {
        finish({ ok: false, detail: `${what}: ${errText(e)}` });
      },
    },
  }).then(
    (s) => {
      sock = s;
      if (settled) s.end();
    },
    (e) => finish({ ok: false, detail: `${what}: ${errText(e)}` }),
  );
  return { done, abort: () => finish({ ok: false, detail: `${what}: aborted` }) };
}

/** at most this much of a probe's HTTP body is read (then the connection is dropped) */
const MAX_BODY_BYTES = 64 * 1024;

function http(url: string, status: number | null, timeoutMs: number): { done: Promise<ProbeResult>; abort: () => void } {
  const ctl = new AbortController();
  // the whole probe — headers and body — is bounded by the timeout: a server that answers and
  // then streams forever, or stalls mid-body, is a failed probe, not a hung one
  const timer = setLongTimeout(() => ctl.abort(), timeoutMs);
  const late = `no answer within ${timeoutMs / 1000}s`;
  const done = fetch(url, { signal: ctl.signal, redirect: "manual", headers: { "user-agent": "sup-probe" } }).then(
    async (res): Promise<ProbeResult> => {
      const ok = status === null ? res.status >= 200 && res.status < 300 : res.status === status;
      const said = `${url}: HTTP ${res.status}${ok ? "" : status === null ? " (not 2xx)" : ` (not ${status})`}`;
      // read (and drop) at most MAX_BODY_BYTES of the body, so a short one releases the connection
      const reader = res.body?.getReader();
      let read = 0;
      try {
        while (reader && read < MAX_BODY_BYTES) {
          const { value, done } = await reader.read();
          if (done) break;
          read += value?.length ?? 0;
        }
      } catch {
        timer.clear();
        return { ok: false, detail: `${url}: HTTP ${res.status}, then ${ctl.signal.aborted ? `the body did not end within ${timeoutMs / 1000}s` : "the body broke off"}` };
      }
      timer.clear();
      if (read >= MAX_BODY_BYTES) void reader?.cancel().catch(() => {});
      return { ok, detail: said };
    },
    (e) => {
      timer.clear();
      return { ok: false, detail: `${url}: ${ctl.signal.aborted ? late : errText(e)}` };
    },
  );
  return { done, abort: () => ctl.abort() };
}

/** spawns an exec probe's command as the companion would run (cwd, env, user, limits); its own process group */
export type ProbeSpawner = (argv: string[]) => { pid: number; exited: Promise<number | null>; signalCode?: string | number | null };

function exec(argv: string[], timeoutMs: number, spawn: ProbeSpawner | undefined, helper: (pid: number) => () => void): { done: Promise<ProbeResult>; abort: () => void } {
  const what = argv[0] === "/bin/sh" && argv[1] === "-c" ? argv[2]! : argv.join(" ");
  if (!spawn) return { done: Promise.resolve({ ok: false, detail: `${what}: cannot run probes here` }), abort: () => {} };
  let proc: ReturnType<ProbeSpawner> | null = null;
  let timedOut = false;
  // the probe's whole process group: what it started in the background goes with it
  const kill = () => {
    try {
      if (proc) process.kill(-proc.pid, "SIGKILL");
    } catch {}
  };
  let timer: LongTimer | null = null;
  try {
    proc = spawn(argv);
  } catch (e) {
    return { done: Promise.resolve({ ok: false, detail: `${what}: ${(e as Error)?.message ?? errText(e)}` }), abort: () => {} };
  }
  const released = helper(proc.pid);
  timer = setLongTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const done = proc.exited.then((code) => {
    released();
    timer?.clear();
    kill(); // a probe leaves nothing behind (`sleep 100 & exit 0`)
    if (timedOut) return { ok: false, detail: `${what}: still running after ${timeoutMs / 1000}s (killed)` };
    return { ok: code === 0, detail: code === 0 ? what : `${what}: exit ${code ?? proc!.signalCode}` };
  });
  return {
    done,
    abort: () => {
      timer?.clear();
      kill();
    },
  };
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException | undefined;
  if (err?.code === "ECONNREFUSED") return "connection refused";
  if (err?.code === "ConnectionRefused") return "connection refused";
  return `${err?.code ?? err?.message ?? e}`.replace(/^Error: /, "");
}
