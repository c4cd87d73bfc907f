// The last lines of one stream of one companion, for `sup ctl logs` and `last_stderr`: at most
// MAX_LINES lines and MAX_BYTES bytes, oldest dropped first. Lines are kept as bytes and decoded
// only when read, so a flood of output costs no string per line. Pure.

export const MAX_LINES = 1000;
export const MAX_BYTES = 1024 * 1024;

/** one captured line: wall ms and its bytes (without the newline) */
export interface RawLine {
  ts: number;
  bytes: Uint8Array;
}

export interface LogLine {
  /** wall ms */
  ts: number;
  line: string;
}

const decoder = new TextDecoder();

export class Ring {
  private lines: RawLine[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxLines = MAX_LINES,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  /** keep `l`; its bytes must not change afterwards (pass a copy, not a reused buffer) */
  push(l: RawLine): void {
    this.lines.push(l);
    this.bytes += l.bytes.length;
    while (this.lines.length - this.head > this.maxLines || (this.bytes > this.maxBytes && this.lines.length - this.head > 1)) {
      this.bytes -= this.lines[this.head]!.bytes.length;
      this.lines[this.head] = undefined as unknown as RawLine; // let its bytes go
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  /** the last `n` lines, oldest first, decoded (UTF-8, invalid bytes replaced) */
  last(n: number): LogLine[] {
    const len = this.lines.length - this.head;
    return this.lines.slice(this.head + Math.max(0, len - n)).map((l) => ({ ts: l.ts, line: decoder.decode(l.bytes) }));
  }

  get size(): number {
    return this.lines.length - this.head;
  }
}
