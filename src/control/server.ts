// The control socket server: many clients at once, pipelined requests answered in order,
// partial writes resent on drain, a line cap, a connection cap and an idle timeout, so that no
// client — slow, silent, flooding or gone — can stall the manager.
import { accessSync, chmodSync, chownSync, constants, lstatSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { Socket, UnixSocketListener } from "bun";
import { FD_RESERVE, fdBudget } from "../os/fds.ts";
import { LineBuffer, MAX_LINE } from "./framing.ts";
import { nonSocketKind } from "./path-kind.ts";
import { errorReply, handleLine, type ControlApi, type Json, type StreamSink } from "./protocol.ts";

export const MAX_CONNECTIONS = 1024;
/** a stream's objects waiting for a client that does not read, at most (bytes); then dropped for it */
const STREAM_BACKLOG = 256 * 1024;
/** objects a stream gathers before its first reply is out */
const STREAM_EARLY_MAX = 10_000;
/** requests of one connection answered at once (pipelined; replies still in order) */
const MAX_INFLIGHT = 64;
/** stop reading from a client whose unread replies pass this (plus the one reply in hand) */
const MAX_PENDING_OUT = 1024 * 1024;
/** a connection that completes no request for this long is closed */
const IDLE_SECONDS = 60;
/** after a final reply (refusal, oversized line), how long the client gets to read it */
const LINGER_SECONDS = 5;
/** after a burst of traffic ends, collect its garbage once (Bun's idle GC timer is off) */
const GC_AFTER_BYTES = 1024 * 1024;

interface Slot {
  reply: Json | null;
  /** the connection closes once this reply is out (an oversized line) */
  final: boolean;
}

interface ConnStream {
  /** its first reply is out: objects go straight to the socket */
  started: boolean;
  /** objects sent before that (bounded like everything else) */
  early: Json[];
  /** objects the client could not take yet, to report as {"dropped":N} */
  dropped: number;
  onClose: (() => void)[];
}

interface Conn {
  lines: LineBuffer;
  queue: string[];
  out: Buffer[];
  outBytes: number;
  /** requests being answered, in arrival order; each reply waits for the ones before it */
  inflight: Slot[];
  /** aborted when the connection closes: waiting replies are dropped, nothing kept for it */
  abort: AbortController;
  /** a streaming reply (logs -f): objects after its first line; requests after it are not answered */
  stream: ConnStream | null;
  ended: boolean;
  closed: boolean;
  paused: boolean;
  /** a final reply is out: write side shut once flushed, input discarded until the client goes */
  finishing: boolean;
}

export class SocketPathError extends Error {}

/**
 * Make `path` free for a new listener: absent is fine, a stale socket is removed, a live one
 * (another sup) or anything that is not a socket is refused with a message naming the path.
 */
export async function claimSocketPath(path: string, unlinkStale: boolean): Promise<void> {
  try {
    lstatSync(path);
  } catch {
    return;
  }
  // lstat: a symlink is named as one and never followed (it could point anywhere)
  const kind = nonSocketKind(path);
  if (kind !== null) {
    throw new SocketPathError(`${path} is ${kind}, not a socket; sup leaves it alone: remove it or set [sup] socket to another path`);
  }
  if (await isLive(path)) throw new SocketPathError(`another sup is already serving ${path}; stop it first or set [sup] socket to another path`);
  if (unlinkStale) {
    try {
      unlinkSync(path);
    } catch {}
  }
}

/** Bun's listen error says only "Failed to listen": find out why from the folder */
function listenReason(path: string, e: unknown): string {
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a folder`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EACCES" ? `permission denied on ${dir}` : `folder ${dir} does not exist`;
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return `no write permission on ${dir}`;
  }
  return (e as Error)?.message ?? String(e);
}

async function isLive(path: string): Promise<boolean> {
  try {
    const s = await Bun.connect({ unix: path, socket: { data() {}, error() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

export class ControlServer {
  private listener: UnixSocketListener<Conn> | null = null;
  private count = 0;
  private bytesSinceGc = 0;
  private gcTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly api: ControlApi,
    private readonly log: (m: string) => void,
    /** the status_socket: answers only commands that change nothing (FORBIDDEN otherwise) */
    private readonly readOnly = false,
  ) {}

  get connections(): number {
    return this.count;
  }

  /**
   * Listen on `path`, born 0600 (no window where others can connect), then opened up to
   * `access`: mode 0660 with `gid` for socket_group, 0666 for the read-only status socket.
   */
  async listen(path: string, access: { mode: number; gid?: number | null } = { mode: 0o600 }): Promise<void> {
    await claimSocketPath(path, true);
    const old = process.umask(0o177); // the socket is born 0600: no window where others can connect
    try {
      this.listener = Bun.listen<Conn>({
        unix: path,
        allowHalfOpen: true,
        socket: {
          open: (s) => this.open(s),
          data: (s, chunk) => this.data(s, chunk),
          drain: (s) => this.flush(s),
          end: (s) => {
            if (s.data.finishing) return void s.end();
            s.data.ended = true;
            this.pump(s);
          },
          close: (s) => this.close(s),
          error: (s) => this.close(s),
          timeout: (s) => {
            s.end();
          },
        },
      });
    } catch (e) {
      throw new SocketPathError(`cannot listen on ${path}: ${listenReason(path, e)}`);
    } finally {
      process.umask(old);
    }
    if (access.gid !== undefined && access.gid !== null) {
      try {
        chownSync(path, -1, access.gid);
      } catch (e) {
        this.stop();
        throw new SocketPathError(`cannot give ${path} to group ${access.gid}: ${(e as Error).message}`);
      }
    }
    chmodSync(path, access.mode);
  }

  /** stop listening (Bun unlinks the path); open connections are closed */
  stop(): void {
    this.listener?.stop(true);
    this.listener = null;
  }

  /** stop taking connections (Bun unlinks the path); open ones finish what they asked */
  stopListening(): void {
    this.listener?.stop(false);
    this.listener = null;
  }

  private open(s: Socket<Conn>): void {
    s.data = { lines: new LineBuffer(MAX_LINE), queue: [], out: [], outBytes: 0, inflight: [], abort: new AbortController(), stream: null, ended: false, closed: false, paused: false, finishing: false };
    this.count++;
    if (this.count > MAX_CONNECTIONS) {
      this.write(s, errorReply(`too many connections (${MAX_CONNECTIONS}); retry later`, "INTERNAL"));
      this.finish(s);
      return;
    }
    const fds = fdBudget();
    fds.used();
    if (fds.free() < FD_RESERVE / 2) {
      // never let clients take the last fds: accept() would then fail (EMFILE) and spin, and
      // nothing could be answered; refuse this one and give its fd back at once
      this.write(s, errorReply(`out of file descriptors (${fds.limit - fds.free()} of ${fds.limit} in use); retry later`, "INTERNAL"));
      s.end();
      return;
    }
    s.timeout(IDLE_SECONDS);
  }

  /**
   * The last reply is queued: shut the write side once it is flushed and keep discarding input
   * until the client closes (closing with unread input would reset the connection and lose the
   * reply), at most LINGER_SECONDS.
   */
  private finish(s: Socket<Conn>): void {
    const c = s.data;
    c.finishing = true;
    c.queue = [];
    if (c.paused) {
      (s as unknown as { resume(): void }).resume();
      c.paused = false;
    }
    s.timeout(LINGER_SECONDS);
    if (c.outBytes === 0) s.shutdown();
  }

  private close(s: Socket<Conn>): void {
    if (!s.data || s.data.closed) return;
    s.data.closed = true;
    s.data.queue = [];
    s.data.out = [];
    s.data.inflight = [];
    s.data.abort.abort(); // waiting replies for this client are dropped
    for (const fn of s.data.stream?.onClose.splice(0) ?? []) fn(); // a follower is unsubscribed
    this.count--;
    if (this.count === 0 && this.bytesSinceGc >= GC_AFTER_BYTES && !this.gcTimer) {
      this.gcTimer = setTimeout(() => {
        this.gcTimer = null;
        if (this.count > 0) return;
        this.bytesSinceGc = 0;
        Bun.gc(true);
      }, 1000);
    }
  }

  private data(s: Socket<Conn>, chunk: Buffer): void {
    const c = s.data;
    this.bytesSinceGc += chunk.length;
    if (c.closed || c.finishing || c.lines.overflow || c.stream) return;
    for (const line of c.lines.push(chunk)) if (line.trim()) c.queue.push(line);
    if (c.lines.overflow) {
      c.queue.push("\u0000overflow");
    }
    this.pump(s);
  }

  /** answer queued lines one at a time, in order, while the client keeps up */
  /**
   * Start every queued request at once (a waiting start must not hold up the next one), up to
   * MAX_INFLIGHT per connection while the client keeps reading; replies go out in request order.
   */
  private pump(s: Socket<Conn>): void {
    const c = s.data;
    if (c.closed || c.finishing) return;
    while (c.queue.length && c.inflight.length < MAX_INFLIGHT && c.outBytes < MAX_PENDING_OUT) {
      const line = c.queue.shift()!;
      const slot: Slot = { reply: null, final: false };
      c.inflight.push(slot);
      if (line === "\u0000overflow") {
        slot.reply = errorReply(`request line longer than ${MAX_LINE} bytes; closing`, "BAD_REQUEST");
        slot.final = true;
        c.queue = [];
        break;
      }
      handleLine(line, this.api, { signal: c.abort.signal, readOnly: this.readOnly, openStream: () => this.openStream(s) }).then(
        (r) => {
          slot.reply = r;
          this.answer(s);
        },
        (e) => {
          this.log(`control: internal error: ${e}`);
          slot.reply = errorReply(`internal error: ${e}`, "INTERNAL");
          this.answer(s);
        },
      );
    }
    // a request being answered is not idleness: the clock runs only while nothing is pending
    s.timeout(c.inflight.length ? 0 : IDLE_SECONDS);
    this.answer(s, false);
    this.backpressure(s);
    if (c.ended && !c.queue.length && !c.inflight.length && c.outBytes === 0) {
      // the client finished sending: last line without "\n" still counts
      const rest = c.lines.overflow ? null : c.lines.takeRest();
      if (rest && rest.trim()) {
        c.queue.push(rest);
        this.pump(s);
        return;
      }
      s.end();
    }
  }

  /** write the replies that are ready, in request order; then take more requests */
  private answer(s: Socket<Conn>, pumpAfter = true): void {
    const c = s.data;
    if (c.closed) return;
    let wrote = false;
    while (c.inflight.length && c.inflight[0]!.reply) {
      const slot = c.inflight.shift()!;
      this.write(s, slot.reply!);
      wrote = true;
      if (c.stream && !c.stream.started && slot.reply!.streaming === true) {
        // the streaming reply's first line is out: what it gathered meanwhile follows it
        c.stream.started = true;
        for (const o of c.stream.early.splice(0)) this.streamWrite(s, o);
        c.inflight = [];
        return;
      }
      if (slot.final) {
        c.inflight = [];
        this.finish(s);
        return;
      }
    }
    if (wrote && pumpAfter) this.pump(s);
  }

  /**
   * Make this connection a stream (logs -f): later requests are not answered, input is
   * discarded, no idle timeout. Objects that the client does not read in time are dropped for
   * it alone (at most STREAM_BACKLOG bytes wait) and it is told {"dropped":N}.
   */
  private openStream(s: Socket<Conn>): StreamSink {
    const c = s.data;
    const st: ConnStream = { started: false, early: [], dropped: 0, onClose: [] };
    c.stream = st;
    c.queue = [];
    s.timeout(0);
    return {
      send: (obj) => {
        if (c.closed) return;
        if (!st.started) {
          if (st.early.length < STREAM_EARLY_MAX) st.early.push(obj);
          else st.dropped++;
          return;
        }
        this.streamWrite(s, obj);
      },
      onClose: (fn) => {
        if (c.closed) fn();
        else st.onClose.push(fn);
      },
    };
  }

  private streamWrite(s: Socket<Conn>, obj: Json): void {
    const c = s.data;
    const st = c.stream!;
    if (c.outBytes > STREAM_BACKLOG) {
      st.dropped++;
      return;
    }
    if (st.dropped) {
      this.write(s, { dropped: st.dropped });
      st.dropped = 0;
    }
    this.write(s, obj);
  }

  private backpressure(s: Socket<Conn>): void {
    const c = s.data;
    const sock = s as unknown as { pause?: () => void; resume?: () => void };
    if (!c.paused && c.outBytes >= MAX_PENDING_OUT) {
      sock.pause?.();
      c.paused = true;
    } else if (c.paused && c.outBytes < MAX_PENDING_OUT / 2) {
      sock.resume?.();
      c.paused = false;
    }
  }

  private write(s: Socket<Conn>, reply: Json): void {
    const c = s.data;
    if (c.closed) return;
    const buf = Buffer.from(JSON.stringify(reply) + "\n");
    this.bytesSinceGc += buf.length;
    if (c.outBytes === 0) {
      const n = s.write(buf);
      if (n === buf.length) return;
      const rest = buf.subarray(Math.max(0, n));
      c.out.push(rest);
      c.outBytes += rest.length;
      return;
    }
    c.out.push(buf);
    c.outBytes += buf.length;
  }

  private flush(s: Socket<Conn>): void {
    const c = s.data;
    while (c.out.length && !c.closed) {
      const buf = c.out[0]!;
      const n = s.write(buf);
      if (n < buf.length) {
        c.out[0] = buf.subarray(Math.max(0, n));
        c.outBytes -= Math.max(0, n);
        return;
      }
      c.out.shift();
      c.outBytes -= buf.length;
    }
    if (c.finishing) {
      if (c.outBytes === 0) s.shutdown();
      return;
    }
    this.pump(s);
  }
}
