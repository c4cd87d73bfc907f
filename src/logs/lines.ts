// Bytes of one stream in, lines out: what the console, the ring, JSON and follower sinks take.
// Pure. A line longer than MAX_LINE is split there (the file sink gets the raw bytes instead).

/** the longest line the console, ring and JSON sinks take; longer ones are split (contract §8) */
export const MAX_LINE = 64 * 1024;

export class LineSplitter {
  private parts: Uint8Array[] = [];
  private size = 0;

  /**
   * Feed a chunk; returns the lines it completed, without their "\n". A line that lies wholly in
   * `chunk` is returned as a view of it: pass a chunk that stays unchanged (a copy of Bun's
   * buffer) when the lines are kept.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      let piece = chunk.subarray(start, end);
      while (this.size + piece.length > MAX_LINE) {
        const room = MAX_LINE - this.size;
        this.parts.push(piece.subarray(0, room));
        out.push(this.take());
        piece = piece.subarray(room);
      }
      if (nl === -1) {
        if (piece.length) {
          this.parts.push(piece);
          this.size += piece.length;
        }
        return out;
      }
      if (this.parts.length) {
        this.parts.push(piece);
        out.push(this.take());
      } else out.push(piece);
      start = nl + 1;
    }
  }

  /** at end of stream: the partial last line, if any */
  flush(): Uint8Array | null {
    return this.size || this.parts.length ? this.take() : null;
  }

  private take(): Uint8Array {
    const b = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    return b;
  }
}
