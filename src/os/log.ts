// sup's own log lines: one per event, timestamped, to stderr (the operator's terminal or the
// container log). The only writer of sup's own diagnostics. Never blocks the loop and never
// buffers without bound: when stderr is a full pipe nobody reads, lines wait in a bounded
// backlog, then are dropped and counted, and the count is logged once the reader is back.
import { writeSync } from "node:fs";
import { writable } from "./libc.ts";

const role = { name: "sup" };

export function setLogRole(name: string): void {
  role.name = name;
}

/** most bytes of sup's own log kept for a stderr that is not being read */
export const LOG_BACKLOG_BYTES = 256 * 1024;
/** a write of at most this many bytes to a pipe that polls writable never blocks (pipe(7) PIPE_BUF) */
const CHUNK = 4096;
/** how often a stalled stderr is tried again while a backlog waits (ms) */
const RETRY_MS = 100;

/**
 * A bounded, non-blocking writer for one fd. Lines are written at once when the fd can take
 * them; otherwise kept up to `maxBytes`, then dropped (counted). Exported for tests.
 */
export class BoundedWriter {
  private backlog: Buffer[] = [];
  private bytes = 0;
  /** the fd has taken only a part of the backlog's first entry */
  private midLine = false;
  /** lines dropped since the last report */
  dropped = 0;
  /** every line ever dropped */
  droppedTotal = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private broken = false;

  constructor(
    private readonly fd: number,
    private readonly maxBytes = LOG_BACKLOG_BYTES,
    private readonly canWrite: (fd: number) => boolean = writable,
    /** the line written once the fd takes writes again, saying how many lines were lost */
    private readonly dropNote: (n: number) => string = (n) => `${stamp()} ${role.name}: ${n} log line(s) dropped: stderr was not being read\n`,
  ) {}

  /** bytes waiting for the fd */
  get pending(): number {
    return this.bytes;
  }

  /** queue `text` (`lines` lines of it, for the drop count) and write what the fd takes now */
  write(text: string, lines = 1): void {
    if (this.broken) return;
    const buf = Buffer.from(text);
    if (this.bytes + buf.length > this.maxBytes) {
      this.dropped += lines;
      this.droppedTotal += lines;
      this.arm();
      return;
    }
    this.backlog.push(buf);
    this.bytes += buf.length;
    this.flush();
  }

  /** write what the fd takes now without blocking; re-arm a retry for the rest */
  flush(): void {
    while (!this.broken && (this.backlog.length || this.dropped)) {
      if (!this.canWrite(this.fd)) return this.arm();
      if (this.dropped) {
        // say what was lost before the lines that follow it, in order — but never inside a
        // line the fd has taken a part of: after the rest of that one
        const note = Buffer.from(this.dropNote(this.dropped));
        this.dropped = 0;
        this.backlog.splice(this.midLine ? 1 : 0, 0, note);
        this.bytes += note.length;
      }
      const head = this.backlog[0]!;
      const piece = head.length > CHUNK ? head.subarray(0, CHUNK) : head;
      let n: number;
      try {
        n = writeSync(this.fd, piece);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") return this.arm();
        // EPIPE, EBADF, ENOSPC…: a closed terminal or full disk must never take sup down
        if (code === "ENOSPC" || code === "EIO") {
          this.backlog = [];
          this.bytes = 0;
          return this.arm();
        }
        this.broken = true;
        this.backlog = [];
        this.bytes = 0;
        return;
      }
      this.bytes -= n;
      this.midLine = n < head.length;
      if (n >= head.length) this.backlog.shift();
      else this.backlog[0] = head.subarray(n);
    }
  }

  private arm(): void {
    if (this.retry || this.broken) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.flush();
    }, RETRY_MS);
    (this.retry as { unref?: () => void }).unref?.();
  }
}

const stderr = new BoundedWriter(2);

function stamp(): string {
  return new Date().toISOString().replace("T", " ").replace("Z", "");
}

export function log(message: string): void {
  stderr.write(`${stamp()} ${role.name}: ${message}\n`);
}

/** lines of sup's own log dropped so far because stderr was not read (for status/metrics) */
export function droppedLogLines(): number {
  return stderr.droppedTotal;
}
