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
  reread(): Promise<{ ok: true; result: RereadResult } | { ok: false; error: string }>;
  version: string;
  /** who and where this sup is: pids, restarts, paths, containment mode (the `info` reply's keys) */
  info?(): Json;
}

export type Json = Record<string, unknown>;

export function errorReply(message: string, code: ErrorCode, extra: Json = {}): Json {
  return { ok: false, message, error: message, code, ...extra };
}

export async function handleLine(line: string, api: ControlApi): Promise<Json> {
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
    return { ...(await dispatch(r, api)), ...id };
  } catch (e) {
    return { ...errorReply(`internal error: ${(e as Error)?.message ?? String(e)}`, "INTERNAL"), ...id };
  }
}

async function dispatch(r: Json, api: ControlApi): Promise<Json> {
  const cmd = r.cmd;
  if (typeof cmd !== "string") return errorReply("missing 'cmd'", "BAD_REQUEST");
  switch (cmd) {
    case "status": {
      let names: string[] | undefined;
      if (r.names !== undefined && r.names !== null) {
        if (!Array.isArray(r.names) || !r.names.every((n) => typeof n === "string")) return errorReply("'names' must be an array of strings", "BAD_REQUEST");
        const unknown = r.names.find((n) => !api.has(n));
        if (unknown !== undefined) return errorReply(`unknown companion ${unknown}`, "BAD_NAME");
        names = r.names;
      }
      return { ok: true, companions: api.status(names) };
    }
    case "start":
    case "stop":
    case "restart": {
      if (typeof r.name !== "string") return errorReply(`'${cmd}' requires a 'name'`, "BAD_REQUEST");
      return replyOf(api.command(cmd, r.name));
    }
    case "signal": {
      if (typeof r.name !== "string") return errorReply("'signal' requires a 'name'", "BAD_REQUEST");
      if (typeof r.signal !== "string" && typeof r.signal !== "number") return errorReply("'signal' requires a 'signal'", "BAD_REQUEST");
      const sig = parseSignal(r.signal);
      if (!sig) return errorReply(`unknown signal ${JSON.stringify(r.signal)}`, "BAD_SIGNAL");
      if (!api.has(r.name)) return errorReply(`unknown companion ${r.name}`, "BAD_NAME");
      return replyOf(api.signal(r.name, sig, r.group === true));
    }
    case "reread": {
      const res = await api.reread();
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

function replyOf(r: Reply): Json {
  return r.ok ? { ok: true, message: r.message } : errorReply(r.message, r.code ?? "INTERNAL");
}
