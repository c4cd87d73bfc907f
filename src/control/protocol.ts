// The control protocol: one request line -> one reply object. Validates at the boundary and
// calls the ControlApi seam; never throws (anything unexpected becomes an INTERNAL reply).
import { parseSignal } from "../config/signals.ts";
import type { StatusEntry } from "../core/describe.ts";
import type { ErrorCode, Reply } from "../core/types.ts";
import type { RereadResult } from "../manager/supervisor.ts";

/** 2: contract revision 2 (info, reread warnings, status processes/cpu_percent/rss_bytes) */
export const PROTOCOL = 2;

/** what every front end (socket server, tests) uses to reach the manager */
export interface ControlApi {
  names(): string[];
  has(name: string): boolean;
  status(names?: string[]): StatusEntry[];
  command(cmd: "start" | "stop" | "restart", name: string): Reply;
  signal(name: string, signal: string, group: boolean): Reply;
  /** validate the file and apply the per-companion diff; dryRun: only say what it would do */
  reread(dryRun?: boolean): Promise<{ ok: true; result: RereadResult } | { ok: false; error: string }>;
  version: string;
  /** who and where this sup is: pids, restarts, paths, containment mode (the `info` reply's keys) */
  info?(): Json;
  /** start/stop/restart whose reply waits for the outcome (or TIMEOUT); aborted when the client hangs up */
  commandWait?(cmd: "start" | "stop" | "restart", name: string, timeoutMs: number | undefined, signal: AbortSignal | undefined): Promise<Reply & { state?: string; companions?: unknown[] }>;
  /** the `wait` command */
  waitFor?(names: string[], want: "ready" | "stopped", timeoutMs: number, signal: AbortSignal | undefined): Promise<Reply & { state?: string; companions?: unknown[] }>;
  /** stop sup as on SIGTERM (fast: SIGQUIT), after this reply is out */
  shutdown?(fast: boolean): Reply;
  /** NAME.1 … NAME.N when NAME has instances (a command on NAME acts on all), else null */
  instancesOf?(name: string): string[] | null;
  /** run `count` instances of `name` (contract §12); the names added and removed */
  scale?(name: string, count: number): Promise<Reply & { added?: string[]; removed?: string[] }>;
  /** send every state change and lifecycle event; returns the unsubscribe */
  events?(send: (e: Json) => void): () => void;
  /** the Prometheus text exposition, sampled now */
  metrics?(): string;
  /** the last `lines` captured lines of `names` (null: all) on `streams`, oldest first */
  logs?(names: string[] | null, lines: number, streams: ("stdout" | "stderr")[]): Json[];
  /** send every new captured line of `names` (null: all) on `streams`; returns the unsubscribe */
  follow?(names: string[] | null, streams: ("stdout" | "stderr")[], send: (line: Json) => void): () => void;
}

/** a streaming reply (logs -f, events): objects after the first reply, until the client goes */
export interface StreamSink {
  /** queue one object; a client that does not keep up loses objects, told as {"dropped":N} */
  send(obj: Json): void;
  /** run `fn` when the client is gone */
  onClose(fn: () => void): void;
}

/** how a request arrived: its connection's hang-up signal, and whether the socket is read-only */
export interface RequestContext {
  signal?: AbortSignal;
  /** the status_socket: only commands that change nothing */
  readOnly?: boolean;
  /** turn this connection into a stream (the reply being built is its first line); requests after it are not answered */
  openStream?(): StreamSink;
}

/** what the read-only status_socket answers (contract §5); anything else is FORBIDDEN */
export const READ_ONLY = new Set(["status", "info", "version", "wait", "logs", "events", "metrics"]);
/** `logs` without `lines` gives this many */
const LOGS_DEFAULT_LINES = 100;
/** `wait` without a timeout gives up after this long (seconds) */
const WAIT_DEFAULT_S = 60;

export type Json = Record<string, unknown>;

export function errorReply(message: string, code: ErrorCode, extra: Json = {}): Json {
  return { ok: false, message, error: message, code, ...extra };
}

export async function handleLine(line: string, api: ControlApi, ctx: RequestContext = {}): Promise<Json> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return errorReply("invalid JSON", "BAD_REQUEST");
  }
  if (!req || typeof req !== "object" || Array.isArray(req)) return errorReply("request must be a JSON object", "BAD_REQUEST");
  const r = req as Json;
  const id = "id" in r ? { id: r.id } : {};
  try {
    return { ...(await dispatch(r, api, ctx)), ...id };
  } catch (e) {
    return { ...errorReply(`internal error: ${(e as Error)?.message ?? String(e)}`, "INTERNAL"), ...id };
  }
}

/** an optional "timeout" in seconds: absent (undefined), a number of ms, or an error reply */
function timeoutOf(r: Json): number | undefined | Json {
  if (r.timeout === undefined || r.timeout === null) return undefined;
  if (typeof r.timeout !== "number" || !Number.isFinite(r.timeout) || r.timeout < 0 || r.timeout > 9_007_199_254) return errorReply("'timeout' must be a number of seconds", "BAD_REQUEST");
  return r.timeout * 1000;
}

async function dispatch(r: Json, api: ControlApi, ctx: RequestContext): Promise<Json> {
  const cmd = r.cmd;
  if (typeof cmd !== "string") return errorReply("missing 'cmd'", "BAD_REQUEST");
  if (ctx.readOnly && !READ_ONLY.has(cmd)) return errorReply(`'${cmd}' is not allowed on the read-only status socket`, "FORBIDDEN");
  switch (cmd) {
    case "status": {
      const names = namesOf(r, api);
      if (isReply(names)) return names;
      return { ok: true, companions: api.status(names ?? undefined) };
    }
    case "start":
    case "stop":
    case "restart": {
      if (typeof r.name !== "string") return errorReply(`'${cmd}' requires a 'name'`, "BAD_REQUEST");
      // NAME with instances acts on NAME.1 … NAME.N, together; one combined reply
      const targets = expand(api, r.name);
      if (!targets.length) return replyOf(api.command(cmd, r.name)); // the unknown-name reply
      const t = r.wait === true ? timeoutOf(r) : undefined;
      if (t !== undefined && typeof t !== "number") return t;
      const one = async (name: string) => (r.wait === true && api.commandWait ? api.commandWait(cmd, name, t, ctx.signal) : api.command(cmd, name));
      return replyOf(combined(await Promise.all(targets.map(one))));
    }
    case "wait": {
      if (!api.waitFor) return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
      const asked = namesOf(r, api);
      if (isReply(asked)) return asked;
      const names = asked ?? api.names();
      const want = r.for ?? "ready";
      if (want !== "ready" && want !== "stopped") return errorReply(`'for' must be "ready" or "stopped"`, "BAD_REQUEST");
      const t = timeoutOf(r);
      if (t !== undefined && typeof t !== "number") return t;
      return replyOf(await api.waitFor(names, want, t ?? WAIT_DEFAULT_S * 1000, ctx.signal));
    }
    case "logs": {
      if (!api.logs) return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
      const names = namesOf(r, api);
      if (isReply(names)) return names;
      const lines = r.lines ?? LOGS_DEFAULT_LINES;
      if (typeof lines !== "number" || !Number.isInteger(lines) || lines < 0) return errorReply("'lines' must be a whole number >= 0", "BAD_REQUEST");
      const streams = (r.streams ?? ["stdout", "stderr"]) as unknown;
      if (!Array.isArray(streams) || !streams.length || !streams.every((x) => x === "stdout" || x === "stderr")) return errorReply(`'streams' must be a list of "stdout" and "stderr"`, "BAD_REQUEST");
      const backlog = api.logs(names, lines, streams);
      if (r.follow !== true) return { ok: true, lines: backlog };
      if (!api.follow || !ctx.openStream) return errorReply("this connection cannot follow", "BAD_REQUEST");
      const stream = ctx.openStream();
      for (const l of backlog) stream.send(l);
      stream.onClose(api.follow(names, streams, (l) => stream.send(l)));
      return { ok: true, streaming: true };
    }
    case "scale": {
      if (!api.scale) return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
      if (typeof r.name !== "string") return errorReply("'scale' requires a 'name'", "BAD_REQUEST");
      const n = r.instances;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1000) return errorReply("'instances' must be a whole number from 1 to 1000", "BAD_REQUEST");
      return replyOf(await api.scale(r.name, n));
    }
    case "events": {
      if (!api.events) return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
      if (!ctx.openStream) return errorReply("this connection cannot stream", "BAD_REQUEST");
      const stream = ctx.openStream();
      stream.onClose(api.events((e) => stream.send(e)));
      return { ok: true, streaming: true };
    }
    case "metrics": {
      if (!api.metrics) return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
      return { ok: true, text: api.metrics() };
    }
    case "shutdown": {
      if (!api.shutdown) return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
      return replyOf(api.shutdown(r.fast === true));
    }
    case "signal": {
      if (typeof r.name !== "string") return errorReply("'signal' requires a 'name'", "BAD_REQUEST");
      if (typeof r.signal !== "string" && typeof r.signal !== "number") return errorReply("'signal' requires a 'signal'", "BAD_REQUEST");
      const sig = parseSignal(r.signal);
      if (!sig) return errorReply(`unknown signal ${JSON.stringify(r.signal)}`, "BAD_SIGNAL");
      const targets = expand(api, r.name);
      if (!targets.length) return errorReply(`unknown companion ${r.name}`, "BAD_NAME");
      return replyOf(combined(targets.map((n) => api.signal(n, sig, r.group === true))));
    }
    case "reread": {
      const dryRun = r.dry_run === true;
      const res = await api.reread(dryRun);
      if (res.ok && dryRun) return { ok: true, dry_run: true, ...res.result };
      if (!res.ok) return { ...errorReply(`invalid config: ${res.error}`, "INVALID_CONFIG"), kept_old_config: true };
      return { ok: true, ...res.result };
    }
    case "version":
      return { ok: true, version: api.version, protocol: PROTOCOL };
    case "info":
      return { ok: true, version: api.version, protocol: PROTOCOL, ...(api.info?.() ?? {}) };
    default:
      return errorReply(`unknown command '${cmd}'`, "BAD_REQUEST");
  }
}

/** the wire form of a Reply: ok and message, or the error envelope; extra keys (state, companions) kept */
/**
 * An optional "names" list: absent (null), the names with each NAME that has instances
 * replaced by NAME.1 … NAME.N, or an error reply (not a list of strings, an unknown name).
 */
function namesOf(r: Json, api: ControlApi): string[] | null | Json {
  if (r.names === undefined || r.names === null) return null;
  if (!Array.isArray(r.names) || !r.names.every((n) => typeof n === "string")) return errorReply("'names' must be an array of strings", "BAD_REQUEST");
  const out: string[] = [];
  for (const n of r.names as string[]) {
    const names = expand(api, n);
    if (!names.length) return errorReply(`unknown companion ${n}`, "BAD_NAME");
    out.push(...names);
  }
  return [...new Set(out)];
}

/** a companion's name: itself; the name of one with instances: NAME.1 … NAME.N; else [] */
function expand(api: ControlApi, name: string): string[] {
  return api.has(name) ? [name] : (api.instancesOf?.(name) ?? []);
}

/** the replies of one command on several companions as one: ok when all are, messages joined */
function combined(replies: Reply[]): Reply {
  if (replies.length === 1) return replies[0]!;
  const failed = replies.find((x) => !x.ok);
  return { ok: !failed, message: replies.map((x) => x.message).join("; "), ...(failed?.code ? { code: failed.code } : {}) };
}

function isReply(v: string[] | null | Json): v is Json {
  return v !== null && !Array.isArray(v);
}

function replyOf(r: Reply & { state?: string; companions?: unknown[] }): Json {
  const { ok, message, code, ...extra } = r as Reply & Json;
  return ok ? { ok: true, message, ...extra } : errorReply(message, (code as Reply["code"]) ?? "INTERNAL", extra);
}
