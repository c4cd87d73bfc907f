// Bytes of one stream in, lines out: what the console, the ring, JSON and follower sinks take.
// Pure. A line longer than MAX_LINE is split there (the file sink gets the raw bytes instead).

/** the longest line the console, ring and JSON sinks take; longer ones are split (contract §8) */
export const MAX_LINE = 64 * 1024;

export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  /** feed a chunk (copied where kept); returns the lines it completed, without their "\n" */
  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      // take what fits the current line; a full line is emitted as it is
      let piece = chunk.subarray(start, end);
      while (this.size + piece.length > MAX_LINE) {
        const room = MAX_LINE - this.size;
        this.parts.push(Buffer.from(piece.subarray(0, room)));
        out.push(this.take());
        piece = piece.subarray(room);
      }
      if (nl === -1) {
        if (piece.length) {
          this.parts.push(Buffer.from(piece));
          this.size += piece.length;
        }
        return out;
      }
      this.parts.push(Buffer.from(piece));
      this.size += piece.length;
      out.push(this.take());
      start = nl + 1;
    }
  }

  /** at end of stream: the partial last line, if any */
  flush(): Buffer | null {
    return this.size || this.parts.length ? this.take() : null;
  }

  private take(): Buffer {
    const b = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return b;
  }
}
