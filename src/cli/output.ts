// The one writer of everything a command prints: whole, synchronous writes to fd 1 and fd 2.
// Bun's process.stdout.write to a pipe takes what fits (64 KiB) and queues the rest, which
// process.exit then drops; a slow reader got a cut-off JSON. Commands that end use this only;
// `sup run` never does (a stalled stderr must not stall supervision).
import { writeSync } from "node:fs";

/** write all of `text` to `fd`, across partial writes and a full non-blocking pipe */
export function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // a non-blocking fd (inherited from a parent that set O_NONBLOCK) that is full: wait a moment
      if (code === "EAGAIN" || code === "EINTR") {
        Bun.sleepSync(1);
        continue;
      }
      if (code === "EPIPE") return; // the reader is gone (`| head`): nobody is left to write for
      throw e;
    }
  }
}

export const out = (text: string): void => writeAll(1, text);
export const err = (text: string): void => writeAll(2, text);

/**
 * For what other modules write through `stream.write` (the arbiter's start-up refusals): count
 * the writes not yet flushed. The returned function resolves once every one of them is out, so
 * exit can wait for it (Bun calls a write's callback when its last byte reached the fd).
 */
export function trackWrites(stream: NodeJS.WriteStream): () => Promise<void> {
  let pending = 0;
  const waiters: (() => void)[] = [];
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, encOrCb?: unknown, cb?: unknown) => {
    const callback = (typeof encOrCb === "function" ? encOrCb : cb) as ((e?: Error | null) => void) | undefined;
    pending++;
    const done = (e?: Error | null) => {
      pending--;
      callback?.(e);
      if (pending === 0) for (const w of waiters.splice(0)) w();
    };
    return typeof encOrCb === "string" ? write(chunk, encOrCb, done) : write(chunk, done);
  }) as NodeJS.WriteStream["write"];
  return () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)));
}
