// The little a full-screen view needs from a terminal, in plain ANSI (no library): the alternate
// screen and the cursor, a frame drawn in one write, lines cut to the width without breaking an
// escape sequence, text from companions made harmless, and the keys read in raw mode.
import { writeAll } from "./output.ts";

export const ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"; // alternate screen, cursor hidden
export const LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"; // attributes reset, cursor shown, main screen

/** the terminal's size now (80x24 when it does not say) */
export function size(): { cols: number; rows: number } {
  return { cols: Math.max(20, process.stdout.columns || 80), rows: Math.max(5, process.stdout.rows || 24) };
}

/** `line` cut to `cols` visible characters; escape sequences are kept and do not count */
export function fit(line: string, cols: number): string {
  let out = "";
  let seen = 0;
  let styled = false;
  for (let i = 0; i < line.length; ) {
    const esc = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(line.slice(i, i + 16));
    if (esc) {
      out += esc[0];
      styled = true;
      i += esc[0].length;
      continue;
    }
    if (seen >= cols) break;
    out += line[i];
    seen++;
    i++;
  }
  return styled ? out + "\x1b[0m" : out;
}

/** what a companion wrote, safe to put on the screen: tabs expanded, control characters shown as '?' */
export function sanitize(text: string): string {
  return text.replace(/\t/g, "    ").replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}

/** one frame: each line at its row (whatever the tty's output mode) cleared to its end, then the rest of the screen; one write */
export function draw(lines: string[], cols: number, rows: number): void {
  const shown = lines.slice(0, rows).map((l, i) => `\x1b[${i + 1};1H${fit(l, cols)}\x1b[K`);
  writeAll(1, shown.join("") + "\x1b[J");
}

export type Key = "up" | "down" | "ctrl-c" | string;

/** the keys in one chunk of raw input: arrows (both cursor modes) by name, the rest as characters */
export function keys(chunk: string): Key[] {
  const out: Key[] = [];
  for (let i = 0; i < chunk.length; ) {
    const arrow = /^\x1b[[O]([A-D])/.exec(chunk.slice(i, i + 3));
    if (arrow) {
      out.push(arrow[1] === "A" ? "up" : arrow[1] === "B" ? "down" : arrow[1] === "C" ? "right" : "left");
      i += 3;
      continue;
    }
    // another escape sequence (a function key, a mouse report): skipped whole
    const other = /^\x1b\[[0-9;]*[~A-Za-z]/.exec(chunk.slice(i, i + 16));
    if (other) {
      i += other[0].length;
      continue;
    }
    const c = chunk[i]!;
    out.push(c === "\x03" ? "ctrl-c" : c);
    i++;
  }
  return out;
}
