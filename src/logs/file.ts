// The file sink of captured companion output (contract §8): appends bytes as they come to one
// file, rotates it by rename (never copy-truncate), reopens it after an external rotation.
// Never throws to the caller and keeps nothing beyond the bytes of one call: a full disk or an
// unwritable path drops (and counts) bytes, reports the problem once and retries once a second.
import { closeSync, fstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

/** how often a failing open, write or rotation is tried again (ms) */
export const LOG_RETRY_MS = 1000;

export interface LogFileOptions {
  /** absolute; the folder must exist (it is never created) */
  path: string;
  /** rotate when a write would pass this size; 0 = never rotate */
  maxBytes: number;
  /** rotated files kept: path.1 (newest) … path.N; older removed; 0 = none kept */
  backups: number;
  /** a message when writing starts failing (open, write or rotation), null once a write works again */
  onProblem: (message: string | null) => void;
  /** monotonic clock in ms; tests pass a virtual one */
  now?: () => number;
}

export class LogFile {
  private fd: number | null = null;
  private bytes = 0;
  private dropped = 0;
  private current: string | null = null;
  /** the last open or write failed: bytes are dropped until `writeRetryAt` */
  private writeFailing = false;
  private writeRetryAt = 0;
  /** the last rotation failed: the file grows past maxBytes (nothing is lost) until `rotateRetryAt` */
  private rotateFailing = false;
  private rotateRetryAt = 0;
  private closed = false;
  private readonly now: () => number;

  /** opens the path at once, so a problem shows before the first byte (onProblem may run from here) */
  constructor(private readonly opts: LogFileOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.open(this.now());
  }

  get path(): string {
    return this.opts.path;
  }

  /** bytes in the current file: its size when opened, plus what was written since */
  get size(): number {
    return this.bytes;
  }

  get problem(): string | null {
    return this.current;
  }

  /** bytes that could not be written (dropped) since the start */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** append bytes as they are; a write is never split across two files */
  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.closed) {
      this.dropped += bytes.length;
      return;
    }
    const t = this.now();
    // failing: no retry storm, the bytes of this second are dropped without a syscall
    if (this.writeFailing && t < this.writeRetryAt) {
      this.dropped += bytes.length;
      return;
    }
    if (this.fd === null && !this.open(t)) {
      this.dropped += bytes.length;
      return;
    }
    if (this.mustRotate(bytes.length) && !(this.rotateFailing && t < this.rotateRetryAt)) {
      this.rotate(t);
      if (this.fd === null) {
        this.dropped += bytes.length;
        return;
      }
    }
    this.append(bytes, t);
  }

  /** close and open the path again (SIGUSR1, after an external rotation by rename) */
  reopen(): void {
    if (this.closed) return;
    this.shut();
    // the operator asked (an external rotation, most likely): try now, whatever the retry pace
    this.writeFailing = false;
    this.rotateFailing = false;
    this.open(this.now());
  }

  close(): void {
    this.closed = true;
    this.shut();
  }

  private mustRotate(n: number): boolean {
    return this.opts.maxBytes > 0 && this.bytes > 0 && this.bytes + n > this.opts.maxBytes;
  }

  private open(t: number): boolean {
    let fd: number | null = null;
    try {
      // O_APPEND; Bun opens with O_CLOEXEC, so companions never inherit it
      fd = openSync(this.opts.path, "a");
      this.bytes = fstatSync(fd).size;
      this.fd = fd;
      this.writeFailing = false;
      return true;
    } catch (e) {
      if (fd !== null) quietClose(fd);
      this.fd = null;
      this.failWrite(t, `cannot open ${this.opts.path}: ${describe(e)}`);
      return false;
    }
  }

  private append(bytes: Uint8Array, t: number): void {
    let off = 0;
    try {
      while (off < bytes.length) {
        const n = writeSync(this.fd!, bytes, off, bytes.length - off);
        if (n <= 0) throw Object.assign(new Error("wrote nothing"), { code: "EIO" });
        off += n;
        this.bytes += n;
      }
    } catch (e) {
      // the part written stays in the file; the rest is lost, and counted
      this.dropped += bytes.length - off;
      this.shut();
      this.failWrite(t, `cannot write ${this.opts.path}: ${describe(e)}`);
      return;
    }
    if (this.current !== null && !this.rotateFailing) this.report(null);
  }

  /**
   * path.(N-1) → path.N … path → path.1, then a new path. A step that fails stops the chain
   * before anything could be overwritten, and writing goes on in the old file (lossless, over size).
   */
  private rotate(t: number): void {
    const { path, backups } = this.opts;
    this.shut();
    try {
      // files beyond `backups`, left by a run that kept more
      for (let i = backups + 1; removeIfThere(`${path}.${i}`); i++);
      if (backups <= 0) removeIfThere(path);
      else {
        for (let i = backups - 1; i >= 1; i--) renameIfThere(`${path}.${i}`, `${path}.${i + 1}`);
        renameIfThere(path, `${path}.1`);
      }
      this.rotateFailing = false;
    } catch (e) {
      this.rotateFailing = true;
      this.rotateRetryAt = t + LOG_RETRY_MS;
      this.report(`cannot rotate ${path}: ${describe(e)}`);
    }
    this.open(t);
  }

  private failWrite(t: number, message: string): void {
    this.writeFailing = true;
    this.writeRetryAt = t + LOG_RETRY_MS;
    this.report(message);
  }

  /** onProblem once per distinct problem, and null once when it is over */
  private report(message: string | null): void {
    if (message === this.current) return;
    this.current = message;
    this.opts.onProblem(message);
  }

  private shut(): void {
    if (this.fd === null) return;
    quietClose(this.fd);
    this.fd = null;
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    // a file not there yet (few rotations so far) or moved away by an external rotation
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/** true when a file was removed */
function removeIfThere(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    return false;
  }
}

function quietClose(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // EIO at close: the fd is gone either way, and the next write reports the problem
  }
}

/** "no space left on device (ENOSPC)" from "ENOSPC: no space left on device, write" */
function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = typeof err?.code === "string" ? err.code : null;
  const text = String(err?.message ?? e);
  const m = /^[A-Z0-9]+: (.+?), \w+(?: '.*')?$/s.exec(text);
  const what = m ? m[1]! : text;
  return code && what !== code ? `${what} (${code})` : what;
}
