// `sup ctl top` (= `sup top`): a live full-screen view of the status table with the selected
// companion's last log lines. Redrawn on every event of one `events` connection; status (CPU,
// RSS, uptime) re-sampled at most once a second, and once a second when idle. No timer faster.
// Not on a terminal: one status table, as `sup ctl status` prints it.
import { request, stream, UnreachableError } from "../../control/client.ts";
import type { Json } from "../../control/protocol.ts";
import { UsageError } from "../args.ts";
import { err, out, writeAll } from "../output.ts";
import { refused } from "../replies.ts";
import { type Entry, isWanted, table, type View } from "../status-view.ts";
import { draw, ENTER, keys, LEAVE, sanitize, size } from "../tui.ts";
import { CTL_ENV, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, type Verb } from "../verb.ts";

const HELP_LINE = "up/down (k/j) select  s stop  S start  r restart  l logs  q quit";
const SAMPLE_MS = 1000;

export const top: Verb = {
  name: "top",
  summary: "a live full-screen view of the companions and the selected one's log",
  synopsis: "",
  flags: [],
  exits: [
    [EXIT_OK[0], "quit with q or Ctrl-C (not on a terminal: the table was printed and every companion is as wanted)"],
    [1, "the manager refused the status request"],
    EXIT_USAGE,
    [EXIT_UNREACHABLE[0], "cannot reach the manager, or it went away while top ran"],
    [4, "not on a terminal: some companion is not as wanted (as status)"],
  ],
  env: CTL_ENV,
  example: "sup top",
  notes:
    "The status table (refreshed on every event, CPU/RSS/uptime re-sampled once a second) and the last lines of the selected companion's log.\nKeys: up/down or k/j select, s stop, S start, r restart (without waiting; the reply shows at the bottom), l the selected companion's log full screen (any key back), q or Ctrl-C quit.\nWhen stdout is not a terminal: prints the status table once, like status.",
  ctl: true,
  positionals: "none",
  async run(p, ctx) {
    if (p.args.length) throw new UsageError("top takes no arguments");
    const socket = ctx.socket();
    const [first] = await request(socket, [{ cmd: "status" }]);
    if (!first!.ok) return refused(first!);
    const list = first!.companions as Entry[];
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      out(table(list, { now: Date.now(), color: !!process.stdout.isTTY && !process.env.NO_COLOR }));
      return list.every(isWanted) ? 0 : 4;
    }
    return new Top(socket, list).run();
  },
};

class Top {
  private selected = 0;
  private logLines: string[] = [];
  private logFor: string | null = null;
  private message = "";
  private fullLog = false;
  private lastSample = 0;
  private sampling = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private done: ((code: number) => void) | null = null;
  private finished = false;
  private readonly color = !process.env.NO_COLOR;
  private readonly handlers: [NodeJS.EventEmitter, string, (...a: any[]) => void][] = [];

  constructor(
    private readonly socket: string,
    private list: Entry[],
  ) {
    this.lastSample = performance.now();
  }

  run(): Promise<number> {
    const finished = new Promise<number>((resolve) => (this.done = resolve));
    writeAll(1, ENTER);
    process.stdin.setRawMode(true);
    process.stdin.setEncoding("utf8");
    this.on(process.stdin, "data", (chunk) => this.onKeys(String(chunk)));
    this.on(process, "SIGTERM", () => this.finish(143));
    this.on(process, "SIGINT", () => this.finish(130));
    this.on(process, "SIGHUP", () => this.finish(129));
    this.on(process, "SIGWINCH", () => this.render());
    this.on(process.stdout, "resize", () => this.render());
    this.on(process, "exit", () => this.restore()); // the last resort: never leave the terminal raw
    process.stdin.resume();
    this.render();
    void this.fetchLog();
    this.schedule(SAMPLE_MS);
    void this.follow();
    return finished;
  }

  private on(target: NodeJS.EventEmitter, event: string, fn: (...a: any[]) => void): void {
    target.on(event, fn);
    this.handlers.push([target, event, fn]);
  }

  /** the events stream; when it closes, one reconnect (a respawned manager), else sup went away */
  private async follow(): Promise<void> {
    let opened = performance.now();
    for (;;) {
      try {
        await stream(this.socket, { cmd: "events" }, (m) => this.onEvent(m));
      } catch (e) {
        if (!(e instanceof UnreachableError)) throw e;
        return this.finish(3, "sup went away");
      }
      if (this.finished) return;
      // a stream that closes again at once is not a respawn: stop trying
      if (performance.now() - opened < SAMPLE_MS) return this.finish(3, "sup went away");
      opened = performance.now();
    }
  }

  private onEvent(m: Json): void {
    if (this.finished) return;
    if (typeof m.event === "string") {
      if (m.event === "shutdown") this.message = "sup is shutting down";
      this.sampleSoon();
      return this.render();
    }
    const e = this.list.find((c) => c.name === m.name);
    if (e) {
      // the event says enough to redraw now; the sample that follows fills in the rest
      e.state = String(m.to) as Entry["state"];
      e.description = `${e.state.toLowerCase()}${m.reason ? `, ${String(m.reason)}` : ""}`;
      e.pid = typeof m.pid === "number" && ["STARTING", "RUNNING", "STOPPING"].includes(e.state) ? m.pid : null;
    }
    this.sampleSoon();
    this.render();
    if (m.name === this.current()) void this.fetchLog();
  }

  private current(): string | null {
    return this.list[this.selected]?.name ?? null;
  }

  /** sample now if the last one is a second old, else when it is */
  private sampleSoon(): void {
    const due = this.lastSample + SAMPLE_MS - performance.now();
    if (due <= 0 && !this.sampling) void this.sample();
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    if (!this.finished) this.timer = setTimeout(() => void this.sample(), Math.max(SAMPLE_MS, ms));
  }

  private async sample(): Promise<void> {
    if (this.sampling || this.finished) return;
    this.sampling = true;
    this.lastSample = performance.now();
    try {
      const [r] = await request(this.socket, [{ cmd: "status" }]);
      if (r!.ok) this.setList(r!.companions as Entry[]);
      else this.message = `status: ${String(r!.error ?? r!.message)}`;
    } catch (e) {
      this.message = String((e as Error).message);
    } finally {
      this.sampling = false;
    }
    this.render();
    this.schedule(SAMPLE_MS);
  }

  private setList(list: Entry[]): void {
    const name = this.current();
    this.list = list;
    const i = list.findIndex((c) => c.name === name);
    this.selected = i >= 0 ? i : Math.min(this.selected, Math.max(0, list.length - 1));
    if (this.current() !== name) void this.fetchLog();
  }

  /** the last lines of the selected companion: as many as the log pane (or the full screen) holds */
  private async fetchLog(): Promise<void> {
    const name = this.current();
    if (name === null || this.finished) return;
    const { rows } = size();
    const n = this.fullLog ? rows - 2 : Math.max(1, rows - this.list.length - 5);
    try {
      const [r] = await request(this.socket, [{ cmd: "logs", names: [name], lines: n }]);
      if (this.current() !== name) return;
      this.logFor = name;
      this.logLines = r!.ok ? ((r!.lines as Json[] | undefined) ?? []).map((l) => `${l.stream === "stderr" ? "(stderr) " : ""}${String(l.line)}`) : [`(${String(r!.error ?? r!.message)})`];
    } catch (e) {
      this.logFor = name;
      this.logLines = [`(${(e as Error).message})`];
    }
    this.render();
  }

  private onKeys(chunk: string): void {
    for (const k of keys(chunk)) {
      if (this.finished) return;
      if (k === "ctrl-c" || (k === "q" && !this.fullLog)) return this.finish(0);
      if (this.fullLog) {
        this.fullLog = false;
        void this.fetchLog();
        continue;
      }
      const name = this.current();
      if (k === "up" || k === "k" || k === "down" || k === "j") {
        const next = Math.max(0, Math.min(this.list.length - 1, this.selected + (k === "up" || k === "k" ? -1 : 1)));
        if (next !== this.selected) {
          this.selected = next;
          this.logLines = [];
          void this.fetchLog();
        }
      } else if (name !== null && (k === "s" || k === "S" || k === "r")) {
        void this.command(k === "s" ? "stop" : k === "S" ? "start" : "restart", name);
      } else if (name !== null && k === "l") {
        this.fullLog = true;
        void this.fetchLog();
      }
    }
    this.render();
  }

  /** start / stop / restart without waiting; the reply's message goes to the status line */
  private async command(cmd: string, name: string): Promise<void> {
    this.message = `${cmd} ${name}...`;
    this.render();
    try {
      const [r] = await request(this.socket, [{ cmd, name }]);
      this.message = String(r!.ok ? r!.message : `${cmd} ${name}: ${r!.error ?? r!.message}`);
    } catch (e) {
      this.message = (e as Error).message;
    }
    this.render();
  }

  private render(): void {
    if (this.finished) return;
    const { cols, rows } = size();
    const view: View = { now: Date.now(), color: this.color };
    const name = this.current();
    const clock = new Date().toTimeString().slice(0, 8);
    const title = `sup top  ${this.list.length} companion${this.list.length === 1 ? "" : "s"}  ${clock}`;
    const status = this.message || HELP_LINE;
    const lines: string[] = [];
    if (this.fullLog) {
      lines.push(`logs of ${name ?? "-"} (any key: back)`);
      const room = rows - 2;
      const tail = this.logFor === name ? this.logLines.slice(-room) : [];
      for (const l of tail) lines.push(sanitize(l));
      while (lines.length < rows - 1) lines.push("");
      lines.push(this.paint(status, "2"));
      return draw(lines, cols, rows);
    }
    lines.push(this.paint(title, "1"));
    // the table of status-view; the selected row marked ("> ") and, with colour, in reverse video
    const plain = table(this.list, { ...view, color: false }).trimEnd().split("\n");
    const painted = table(this.list, view).trimEnd().split("\n");
    lines.push(`  ${plain[0]}`);
    // keep the selection in view when the rows do not fit
    const room = Math.max(1, rows - 6);
    const from = Math.max(0, Math.min(this.selected - room + 1, this.list.length - room));
    for (let i = from; i < this.list.length && i < from + room; i++) {
      if (i === this.selected) lines.push(this.color ? `\x1b[7m> ${plain[i + 1]!.padEnd(cols - 2)}\x1b[0m` : `> ${plain[i + 1]}`);
      else lines.push(`  ${painted[i + 1]}`);
    }
    if (!this.list.length) lines.push(`  ${plain[1] ?? "(no companions)"}`);
    lines.push("");
    const head = `-- ${name ?? "-"}: last lines `;
    lines.push(head + "-".repeat(Math.max(0, cols - head.length)));
    const logRoom = rows - lines.length - 1;
    const tail = this.logFor === name ? this.logLines.slice(-Math.max(0, logRoom)) : [];
    for (const l of tail) lines.push(sanitize(l));
    while (lines.length < rows - 1) lines.push("");
    lines.push(this.paint(status, "2"));
    draw(lines, cols, rows);
  }

  private paint(s: string, code: string): string {
    return this.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  private restore(): void {
    if (this.restored) return;
    this.restored = true;
    try {
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
    } catch {
      // the terminal is gone: nothing to restore
    }
    writeAll(1, LEAVE);
  }
  private restored = false;

  /** every way out: timers and handlers off, the terminal restored, then the message and the code */
  private finish(code: number, message?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    for (const [target, event, fn] of this.handlers) if (event !== "exit") target.off(event, fn);
    this.restore();
    process.stdin.pause();
    if (message) err(`${message}\n`);
    this.done!(code);
  }
}
