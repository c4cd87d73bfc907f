// The last lines of one stream of one companion, for `sup ctl logs` and `last_stderr`: at most
// MAX_LINES lines and MAX_BYTES bytes, oldest dropped first. Pure.

export const MAX_LINES = 1000;
export const MAX_BYTES = 1024 * 1024;

export interface LogLine {
  /** wall ms */
  ts: number;
  line: string;
}

export class Ring {
  private lines: LogLine[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxLines = MAX_LINES,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  push(l: LogLine): void {
    this.lines.push(l);
    this.bytes += l.line.length;
    while (this.lines.length - this.head > this.maxLines || (this.bytes > this.maxBytes && this.lines.length - this.head > 1)) {
      this.bytes -= this.lines[this.head]!.line.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  /** the last `n` lines, oldest first */
  last(n: number): LogLine[] {
    const len = this.lines.length - this.head;
    return this.lines.slice(this.head + Math.max(0, len - n));
  }

  get size(): number {
    return this.lines.length - this.head;
  }
}
