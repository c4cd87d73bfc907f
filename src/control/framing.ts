// NDJSON framing: bytes in, complete lines out, with a cap on a line's length. Pure.
export const MAX_LINE = 1024 * 1024;

export class LineBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  overflow = false;

  constructor(private readonly max = MAX_LINE) {}

  /** feed a chunk (copied: Bun may reuse its buffer); returns the complete lines it finished */
  push(chunk: Uint8Array): string[] {
    if (this.overflow) return [];
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.max) {
        this.overflow = true;
        return lines;
      }
      const line = this.size ? Buffer.concat([...this.parts, piece]) : Buffer.from(piece);
      this.parts = [];
      this.size = 0;
      lines.push(line.toString("utf8").replace(/\r$/, ""));
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length) {
      if (this.size + rest.length > this.max) {
        this.overflow = true;
        this.parts = [];
        return lines;
      }
      this.parts.push(Buffer.from(rest)); // copy
      this.size += rest.length;
    }
    return lines;
  }

  /** bytes of an unfinished line */
  get pending(): number {
    return this.size;
  }

  /** the unfinished last line, at end of input */
  takeRest(): string | null {
    if (!this.size) return null;
    const s = Buffer.concat(this.parts).toString("utf8");
    this.parts = [];
    this.size = 0;
    return s;
  }
}
