// One probe, run once without blocking the loop (contract §9): a TCP connect, an HTTP GET, or a
// command; each bounded by its timeout, and abortable (the run ended, the mode changed).
import type { CompanionSpec, Probe } from "../config/schema.ts";
import { setLongTimeout, type LongTimer } from "../os/timer.ts";

export interface ProbeResult {
  ok: boolean;
  /** what it found, for the log and status: "tcp 127.0.0.1:5432", "connection refused", "HTTP 503" */
  detail: string;
}

/**
 * Start one probe of `probe` for `spec` (exec runs in the companion's cwd with `env`), giving up
 * after `timeoutMs`. `abort()` ends it at once (an exec probe's process group is killed); the
 * result of an aborted probe is a failure nobody reads.
 */
export function runProbe(
  probe: Probe,
  timeoutMs: number,
  spec: CompanionSpec,
  env: Record<string, string>,
  helper: (pid: number) => () => void = () => () => {},
): { done: Promise<ProbeResult>; abort: () => void } {
  switch (probe.kind) {
    case "tcp":
      return tcp(probe.host, probe.port, timeoutMs);
    case "http":
      return http(probe.url, probe.status, timeoutMs);
    case "exec":
      return exec(probe.argv, timeoutMs, spec.cwd, env, helper);
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

function http(url: string, status: number | null, timeoutMs: number): { done: Promise<ProbeResult>; abort: () => void } {
  const ctl = new AbortController();
  const timer = setLongTimeout(() => ctl.abort(), timeoutMs);
  const done = fetch(url, { signal: ctl.signal, redirect: "manual", headers: { "user-agent": "sup-probe" } }).then(
    async (res) => {
      timer.clear();
      // read (and drop) the body so the connection is released
      await res.arrayBuffer().catch(() => {});
      const ok = status === null ? res.status >= 200 && res.status < 300 : res.status === status;
      return { ok, detail: `${url}: HTTP ${res.status}${ok ? "" : status === null ? " (not 2xx)" : ` (not ${status})`}` };
    },
    (e) => {
      timer.clear();
      return { ok: false, detail: `${url}: ${ctl.signal.aborted ? `no answer within ${timeoutMs / 1000}s` : errText(e)}` };
    },
  );
  return { done, abort: () => ctl.abort() };
}

function exec(argv: string[], timeoutMs: number, cwd: string, env: Record<string, string>, helper: (pid: number) => () => void): { done: Promise<ProbeResult>; abort: () => void } {
  const what = argv[0] === "/bin/sh" && argv[1] === "-c" ? argv[2]! : argv.join(" ");
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  let timedOut = false;
  const kill = () => {
    try {
      if (proc) process.kill(-proc.pid, "SIGKILL");
    } catch {}
  };
  let timer: LongTimer | null = null;
  try {
    proc = Bun.spawn({ cmd: argv, cwd, env, stdio: ["ignore", "ignore", "ignore"], detached: true });
  } catch (e) {
    return { done: Promise.resolve({ ok: false, detail: `${what}: ${errText(e)}` }), abort: () => {} };
  }
  const released = helper(proc.pid);
  timer = setLongTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const done = proc.exited.then((code) => {
    released();
    timer?.clear();
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
