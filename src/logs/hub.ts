// Captured companion output (contract §8): each captured stream is a real pipe the manager
// reads without blocking the loop; what it reads goes to the sinks — sup's stdout as
// `name | line` (bounded: a slow reader costs dropped lines, counted), a log file with
// rotation by rename, the per-companion ring that `sup ctl logs` and `last_stderr` read, and
// live followers. A run's exit is reported only once its pipes are drained (lossless).
import { closeSync } from "node:fs";
import type { CompanionSpec } from "../config/schema.ts";
import { BoundedWriter } from "../os/log.ts";
import { pipe } from "../os/libc.ts";
import { closeQuietly, readPipe } from "../os/pipes.ts";
import { LogFile } from "./file.ts";
import { LineSplitter, MAX_LINE } from "./lines.ts";
import { MAX_LINES, Ring } from "./ring.ts";

const decoder = new TextDecoder();

export type Stream = "stdout" | "stderr";

/** one line as `ctl logs --json`, a follower and the JSON format see it */
export interface LogEntry {
  ts: string;
  name: string;
  stream: Stream;
  line: string;
}

/** a follower: gets each new line of the names it follows; returns false when it is full (the line is dropped for it) */
export type Follower = { names: Set<string> | null; streams: Set<Stream>; send: (e: LogEntry) => void };

/** how many lines `last_stderr` keeps from before an exit */
const LAST_STDERR_LINES = 10;
/** at most this long a run's exit waits for its pipes to drain (a descendant that keeps the write end open) */
export const DRAIN_MAX_MS = 2000;

const COLORS = ["36", "33", "32", "35", "34", "91", "92", "93", "94", "95", "96"];

/** everything sup keeps about one companion's output, across its runs */
class Channel {
  readonly rings: Record<Stream, Ring> = { stdout: new Ring(), stderr: new Ring() };
  lastStderr: string[] = [];
  file: LogFile | null = null;
  fileProblem: string | null = null;
  /** a `ready = { log = … }` check of the current run: sees each captured line while it waits */
  matcher: ((line: string) => void) | null = null;

  constructor(
    readonly name: string,
    public spec: CompanionSpec,
    readonly color: string,
  ) {}
}

/** the capture of one run: the fds the child writes to, and when both pipes are drained */
export interface RunCapture {
  stdout: number | null;
  stderr: number | null;
  /** close the parent's copies of the write ends (after the spawn) */
  closeChildEnds(): void;
  /** resolves when every pipe reached EOF (all writers gone) and was flushed to the sinks */
  drained: Promise<void>;
  /** stop reading at once (the spawn failed) */
  abort(): void;
}

export class Logs {
  private readonly channels = new Map<string, Channel>();
  private readonly followers = new Set<Follower>();
  private width = 0;

  constructor(
    private readonly console: BoundedWriter,
    private readonly colors: boolean,
    private readonly warn: (message: string) => void,
  ) {}

  private channel(spec: CompanionSpec): Channel {
    let ch = this.channels.get(spec.name);
    if (!ch) {
      ch = new Channel(spec.name, spec, COLORS[this.channels.size % COLORS.length]!);
      this.channels.set(spec.name, ch);
      this.width = Math.max(this.width, spec.name.length);
    } else {
      const [a, b] = [ch.spec.log, spec.log];
      if (a.file !== b.file || a.maxBytes !== b.maxBytes || a.backups !== b.backups) {
        // a new path or rotation: the file is opened again with them at the next write
        ch.file?.close();
        ch.file = null;
      }
    }
    ch.spec = spec;
    return ch;
  }

  /**
   * The companion's settings were updated in place (a reread that changed only policy or
   * sinks): console, timestamps, format and file take effect from the next line, same process.
   */
  update(spec: CompanionSpec): void {
    if (this.channels.has(spec.name)) this.channel(spec);
  }

  /**
   * A run of `spec` is about to be spawned: make a pipe per captured stream (stderr = "stdout"
   * shares stdout's). Returns null when nothing is captured; throws when no pipe can be made
   * (no fds left: a transient failure for the caller).
   */
  begin(spec: CompanionSpec): RunCapture | null {
    const outCap = spec.stdout.kind === "capture";
    const errCap = spec.stderr.kind === "capture" || (spec.stderr.kind === "stdout" && outCap);
    if (!outCap && !errCap) return null;
    const ch = this.channel(spec);
    const opened: number[] = [];
    const make = () => {
      const p = pipe();
      if (!p) {
        for (const fd of opened) closeSync(fd);
        throw Object.assign(new Error("cannot make a pipe for captured output: too many open files (EMFILE)"), { code: "EMFILE" });
      }
      opened.push(...p);
      return p;
    };
    const out = outCap ? make() : null;
    const err = spec.stderr.kind === "capture" ? make() : null;
    const readers: Promise<void>[] = [];
    const aborts: (() => void)[] = [];
    const read = (fd: number, stream: Stream) => {
      const r = this.reader(ch, fd, stream);
      readers.push(r.done);
      aborts.push(r.abort);
    };
    if (out) read(out[0], "stdout");
    if (err) read(err[0], "stderr");
    const drained = Promise.all(readers).then(() => {
      ch.lastStderr = ch.rings[spec.stderr.kind === "stdout" ? "stdout" : "stderr"].last(LAST_STDERR_LINES).map((l) => l.line);
    });
    return {
      stdout: out ? out[1] : null,
      stderr: err ? err[1] : spec.stderr.kind === "stdout" && out ? out[1] : null,
      closeChildEnds: () => {
        for (const fd of [out?.[1], err?.[1]]) if (fd !== undefined) closeQuietly(fd);
      },
      drained,
      abort: () => aborts.forEach((a) => a()),
    };
  }

  /** read one pipe until EOF, feeding the sinks; closes the read end at the end */
  private reader(ch: Channel, fd: number, stream: Stream): { done: Promise<void>; abort: () => void } {
    const lines = new LineSplitter();
    let carry: Buffer | null = null; // file sink: bytes after the last newline (whole lines only go out)
    return readPipe(
      fd,
      (chunk) => {
        carry = this.toFile(ch, stream, chunk, carry);
        // one copy per chunk (Bun may reuse its buffer); the ring keeps views of it
        this.toLines(ch, stream, lines.push(Buffer.from(chunk)));
      },
      () => {
        const rest = lines.flush();
        if (rest) this.toLines(ch, stream, [rest]);
        if (carry?.length) this.fileWrite(ch, carry);
      },
    );
  }

  /** text format without timestamps: the raw bytes, whole lines at a time (binary data intact) */
  private toFile(ch: Channel, stream: Stream, chunk: Uint8Array, carry: Buffer | null): Buffer | null {
    const log = ch.spec.log;
    if (!log.file || log.format !== "text" || log.timestamps) return null;
    const nl = chunk.lastIndexOf(10);
    if (nl === -1) {
      const held = carry ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
      // output without newlines is not held back without bound: past MAX_LINE it goes out as it is
      if (held.length < MAX_LINE) return held;
      this.fileWrite(ch, held);
      return null;
    }
    const head = chunk.subarray(0, nl + 1);
    this.fileWrite(ch, carry?.length ? Buffer.concat([carry, head]) : head);
    return nl + 1 < chunk.length ? Buffer.from(chunk.subarray(nl + 1)) : null;
  }

  private fileWrite(ch: Channel, bytes: Uint8Array): void {
    const path = ch.spec.log.file;
    if (!path) return;
    if (!ch.file) {
      ch.file = new LogFile({
        path,
        maxBytes: ch.spec.log.maxBytes,
        backups: ch.spec.log.backups,
        onProblem: (problem) => {
          ch.fileProblem = problem;
          this.warn(problem ? `${ch.name}: ${problem}; the companion keeps running, lines are dropped until it can write again` : `${ch.name}: writing ${path} again`);
        },
      });
    }
    ch.file.write(bytes);
  }

  private toLines(ch: Channel, stream: Stream, lines: Uint8Array[]): void {
    if (!lines.length) return;
    if (ch.matcher) for (const raw of lines) ch.matcher?.(decoder.decode(raw));
    const now = Date.now();
    const log = ch.spec.log;
    const ring = ch.rings[stream];
    const fileLines = !!log.file && (log.format === "json" || log.timestamps);
    if (!log.console && !fileLines && !this.followers.size) {
      // only the ring wants them: bytes, decoded when read; only the last MAX_LINES can stay
      for (let i = Math.max(0, lines.length - MAX_LINES); i < lines.length; i++) ring.push({ ts: now, bytes: lines[i]! });
      return;
    }
    const stamp = log.timestamps || log.format === "json" || this.followers.size ? new Date(now).toISOString() : "";
    let consoleText = "";
    let fileText = "";
    for (const raw of lines) {
      const line = decoder.decode(raw);
      ring.push({ ts: now, bytes: raw });
      const entry: LogEntry = { ts: stamp, name: ch.name, stream, line };
      const text = log.format === "json" ? JSON.stringify(entry) : log.timestamps ? `${stamp} ${line}` : line;
      if (log.console) consoleText += log.format === "json" ? `${text}\n` : `${this.prefix(ch)}${text}\n`;
      if (fileLines) fileText += `${text}\n`;
      for (const f of this.followers) if ((!f.names || f.names.has(ch.name)) && f.streams.has(stream)) f.send(entry);
    }
    if (consoleText) this.console.write(consoleText, lines.length);
    if (fileText) this.fileWrite(ch, Buffer.from(fileText));
  }

  private prefix(ch: Channel): string {
    const name = ch.name.padEnd(this.width);
    return this.colors ? `\x1b[${ch.color}m${name} |\x1b[0m ` : `${name} | `;
  }

  /**
   * Hand every captured line of `name` (stdout and stderr, as decoded text without its newline)
   * to `fn` until called with null: a `log` readiness check. Costs nothing while unset.
   */
  watchLines(name: string, fn: ((line: string) => void) | null): void {
    const ch = this.channels.get(name);
    if (ch) ch.matcher = fn;
  }

  /** the last `n` lines of `names` (all when null) on `streams`, oldest first, interleaved by time */
  query(names: string[] | null, n: number, streams: Stream[]): LogEntry[] {
    const out: (LogEntry & { at: number })[] = [];
    for (const ch of this.channels.values()) {
      if (names && !names.includes(ch.name)) continue;
      for (const s of streams) for (const l of ch.rings[s].last(n)) out.push({ at: l.ts, ts: new Date(l.ts).toISOString(), name: ch.name, stream: s, line: l.line });
    }
    out.sort((a, b) => a.at - b.at);
    return out.slice(Math.max(0, out.length - n)).map(({ at: _at, ...e }) => e);
  }

  /** follow new lines until the returned function is called */
  follow(f: Follower): () => void {
    this.followers.add(f);
    return () => this.followers.delete(f);
  }

  /** the lines `name` wrote to stderr before its last exit ([] when none were captured) */
  lastStderr(name: string): string[] {
    return this.channels.get(name)?.lastStderr ?? [];
  }

  /** the log file problem of `name`, or null */
  problem(name: string): string | null {
    return this.channels.get(name)?.fileProblem ?? null;
  }

  /** SIGUSR1: reopen every log file (after an external rotation by rename) */
  reopen(): number {
    let n = 0;
    for (const ch of this.channels.values()) {
      if (ch.file) {
        ch.file.reopen();
        n++;
      }
    }
    return n;
  }
}

