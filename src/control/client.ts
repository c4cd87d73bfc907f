// The ctl side of the protocol: connect, send pipelined request lines, collect one reply per
// request, with a deadline. Errors name the socket path tried.
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

export async function request(socketPath: string, requests: Json[], timeoutMs = Number(process.env.SUP_CTL_TIMEOUT_MS) || 10_000): Promise<Json[]> {
  const deadline = performance.now() + timeoutMs;
  // a manager that is being respawned comes back within a moment: retry a refused connect briefly
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(socketPath, requests, deadline);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a stale socket while the manager is being respawned: retry briefly; no socket: fail now
      const retriable = code === "ECONNREFUSED" && nonSocketKind(socketPath) === null;
      if (!retriable || attempt >= 10 || performance.now() + 100 > deadline) throw unreachable(socketPath, e);
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

function once(path: string, requests: Json[], deadline: number): Promise<Json[]> {
  return new Promise<Json[]>((resolve, reject) => {
    const replies: Json[] = [];
    const lines = new LineBuffer(64 * 1024 * 1024);
    let settled = false;
    const timer = setLongTimeout(() => fail(new UnreachableError(`cannot reach sup at ${path}: no reply in time (SUP_CTL_TIMEOUT_MS)`)), Math.max(1, deadline - performance.now()));
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
    Bun.connect({
      unix: path,
      socket: {
        open(s) {
          const n = s.write(out);
          out = out.subarray(Math.max(0, n));
        },
        drain(s) {
          if (out.length) out = out.subarray(Math.max(0, s.write(out)));
        },
        data(s, chunk) {
          for (const line of lines.push(chunk)) {
            try {
              replies.push(JSON.parse(line) as Json);
            } catch {
              replies.push({ ok: false, error: `unreadable reply: ${line.slice(0, 200)}` });
            }
            if (replies.length === requests.length) {
              s.end();
              done();
            }
          }
        },
        close() {
          if (replies.length < requests.length) fail(new UnreachableError(`cannot reach sup at ${path}: connection closed after ${replies.length} of ${requests.length} replies`));
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
