// Reading a pipe (or any stream fd) without blocking the loop: the one reader behind captured
// output (logs/hub.ts), a notification fd (probes/probes.ts) and the pipes the arbiter adopts
// from a dead manager (arbiter/pipes.ts).
import { closeSync } from "node:fs";

/** close(2) an fd that may already be closed: an error is not one */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}

/**
 * Read `fd` until EOF (every writer gone), a read error or abort(): `onChunk` gets each non-empty
 * chunk as read (Bun may reuse its buffer: copy what is kept), `onEnd` runs once at the end, then
 * the fd is closed. `done` resolves after that.
 */
export function readPipe(fd: number, onChunk: (chunk: Uint8Array) => void, onEnd?: () => void): { done: Promise<void>; abort: () => void } {
  const reader = Bun.file(fd).stream().getReader();
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value?.length) onChunk(value);
      }
    } catch {
      // a read error ends the pipe; what was read went out
    } finally {
      onEnd?.();
      closeQuietly(fd);
    }
  })();
  return { done, abort: () => void reader.cancel().catch(() => {}) };
}
