// Raw talk over a Unix socket, for what SupFixture.request cannot do: send bytes that are not
// one line per request, keep a connection open and silent, see whether the peer closes it.
import type { Socket } from "bun";

export interface Talk {
  /** everything received so far */
  readonly text: string;
  /** true once the peer (or we) closed the connection */
  readonly closed: boolean;
  write(data: string | Uint8Array): void;
  /** close our side for good */
  close(): void;
}

/** connect to `path`; resolves once connected */
export function connect(path: string): Promise<Talk> {
  return new Promise((resolve, reject) => {
    let text = "";
    let closed = false;
    let pending: Buffer[] = [];
    let sock: Socket<undefined> | null = null;
    const flush = (s: Socket<undefined>) => {
      while (pending.length) {
        const buf = pending[0]!;
        const n = s.write(buf);
        if (n < buf.length) {
          pending[0] = buf.subarray(Math.max(0, n));
          return;
        }
        pending.shift();
      }
    };
    const talk: Talk = {
      get text() {
        return text;
      },
      get closed() {
        return closed;
      },
      write(data) {
        pending.push(Buffer.from(data));
        if (sock) flush(sock);
      },
      close() {
        pending = [];
        sock?.terminate();
        closed = true;
      },
    };
    Bun.connect({
      unix: path,
      socket: {
        open(s) {
          sock = s;
          resolve(talk);
        },
        data(_s, chunk) {
          text += chunk.toString();
        },
        drain(s) {
          flush(s);
        },
        close() {
          closed = true;
        },
        end() {
          closed = true;
        },
        error() {
          closed = true;
        },
        connectError(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
}
