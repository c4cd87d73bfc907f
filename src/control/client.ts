// The ctl side of the protocol: connect, send pipelined request lines, collect one reply per
// request (or follow a stream), with deadlines. Errors name the socket path tried.
import { setLongTimeout } from "../os/timer.ts";
import { LineBuffer } from "./framing.ts";
import { nonSocketKind } from "./path-kind.ts";
import type { Json } from "./protocol.ts";

export class UnreachableError extends Error {
  /** what is at the path when it is not a socket ("a regular file", "a folder", ...) */
  readonly kind: string | null;
  constructor(message: string, kind: string | null = null) {
    super(message);
    this.kind = kind;
  }
}

/** how long a ctl command waits for the manager: SUP_CTL_TIMEOUT_MS, default 10 s */
export function ctlTimeoutMs(): number {
  return Number(process.env.SUP_CTL_TIMEOUT_MS) || 10_000;
}

/**
 * Send `requests` pipelined on one connection; one reply each, in order. `timeoutMs` bounds the
 * whole exchange; `null` bounds only the connect (ctlTimeoutMs), for a reply the manager bounds
 * itself (a waited start without --timeout).
 */
export async function request(socketPath: string, requests: Json[], timeoutMs: number | null = ctlTimeoutMs()): Promise<Json[]> {
  return withRetry(socketPath, timeoutMs, (deadline, connectBy) => exchange(socketPath, requests, deadline, connectBy, null));
}

/**
 * A streaming command (logs -f, events): `onMessage` gets every object after the first reply
 * while the manager streams. Resolves with the first reply: when it is not a stream (a refusal,
 * an unknown command, a plain reply), at once; else once the manager closes the connection.
 */
export async function stream(socketPath: string, req: Json, onMessage: (m: Json) => void): Promise<Json> {
  return withRetry(socketPath, ctlTimeoutMs(), async (deadline, connectBy) => (await exchange(socketPath, [req], deadline, connectBy, onMessage))[0]!);
}

async function withRetry<T>(socketPath: string, timeoutMs: number | null, run: (deadline: number, connectBy: number) => Promise<T>): Promise<T> {
  const start = performance.now();
  const connectBy = start + Math.min(timeoutMs ?? Infinity, ctlTimeoutMs());
  const deadline = timeoutMs === null ? Infinity : start + timeoutMs;
  // a manager that is being respawned comes back within a moment: retry a refused connect briefly
  for (let attempt = 0; ; attempt++) {
    try {
      return await run(deadline, connectBy);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a stale socket while the manager is being respawned: retry briefly; no socket: fail now
      const retriable = code === "ECONNREFUSED" && nonSocketKind(socketPath) === null;
      if (!retriable || attempt >= 10 || performance.now() + 100 > connectBy) throw unreachable(socketPath, e);
      await Bun.sleep(100);
    }
  }
}

function unreachable(path: string, e: unknown): UnreachableError {
  if (e instanceof UnreachableError) return e;
  const err = e as NodeJS.ErrnoException;
  // connecting to a file, a folder or a FIFO is "refused" too: say what is there instead
  const kind = nonSocketKind(path);
  if (kind !== null) return new UnreachableError(`cannot reach sup at ${path}: not a socket but ${kind}`, kind);
  const why =
    err.code === "ENOENT"
      ? "no such socket (is `sup run` running with this config?)"
      : err.code === "ECONNREFUSED"
        ? "connection refused (stale socket: sup is not running)"
        : err.code === "EACCES"
          ? "permission denied (the socket is mode 0600: run as the user that runs sup)"
          : err.message;
  return new UnreachableError(`cannot reach sup at ${path}: ${why}`);
}

/**
 * One connection: write the requests, collect a reply per request. Until it is open the timer
 * runs to `connectBy`, then to `deadline` (Infinity: none). With `onStream` and a first reply
 * `{"streaming":true}`, every later line goes to `onStream` until the peer closes.
 */
function exchange(path: string, requests: Json[], deadline: number, connectBy: number, onStream: ((m: Json) => void) | null): Promise<Json[]> {
  return new Promise<Json[]>((resolve, reject) => {
    const replies: Json[] = [];
    const lines = new LineBuffer(64 * 1024 * 1024);
    let settled = false;
    let streaming = false;
    const late = (what: string) => () => fail(new UnreachableError(`cannot reach sup at ${path}: ${what}`));
    let timer = setLongTimeout(late("no connection in time (SUP_CTL_TIMEOUT_MS)"), Math.max(1, Math.min(deadline, connectBy) - performance.now()));
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      timer.clear();
      reject(e);
    };
    const done = () => {
      if (settled) return;
      settled = true;
      timer.clear();
      resolve(replies);
    };
    const payload = requests.map((r) => JSON.stringify(r) + "\n").join("");
    let out = Buffer.from(payload);
    const parse = (line: string): Json => {
      try {
        return JSON.parse(line) as Json;
      } catch {
        return { ok: false, error: `unreadable reply: ${line.slice(0, 200)}` };
      }
    };
    Bun.connect({
      unix: path,
      socket: {
        open(s) {
          timer.clear();
          timer = setLongTimeout(late(deadline === Infinity ? "no reply" : "no reply in time (SUP_CTL_TIMEOUT_MS)"), Math.max(1, deadline - performance.now()));
          const n = s.write(out);
          out = out.subarray(Math.max(0, n));
        },
        drain(s) {
          if (out.length) out = out.subarray(Math.max(0, s.write(out)));
        },
        data(s, chunk) {
          for (const line of lines.push(chunk)) {
            if (streaming) {
              onStream!(parse(line));
              continue;
            }
            replies.push(parse(line));
            if (onStream && replies[0]!.ok === true && replies[0]!.streaming === true) {
              // the stream runs until the peer closes or the user interrupts: no deadline
              streaming = true;
              timer.clear();
              continue;
            }
            if (replies.length === requests.length) {
              s.end();
              done();
            }
          }
        },
        close() {
          if (streaming) done();
          else if (replies.length < requests.length) fail(new UnreachableError(`cannot reach sup at ${path}: connection closed after ${replies.length} of ${requests.length} replies`));
        },
        error(_s, e) {
          fail(e);
        },
        connectError(_s, e) {
          fail(e);
        },
      },
    }).catch(fail);
  });
}
