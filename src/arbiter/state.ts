// [sup] state_file: what the operator decided (manual stops) and each companion's counters,
// kept across restarts of sup. Written atomically (a temp file renamed over it) on each change,
// at most every WRITE_MS; a missing or corrupt file is reported and ignored, never fatal.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Intent } from "../ipc.ts";

/** changes within this long are written together (ms) */
const WRITE_MS = 50;

export class StateFile {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private latest: Map<string, Intent> | null = null;
  private failing = false;

  constructor(
    public path: string | null,
    private readonly log: (m: string) => void,
  ) {}

  /** what the file holds; [] when there is none, or it cannot be read (said in the log) */
  load(): Intent[] {
    if (!this.path) return [];
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") this.log(`state_file ${this.path}: cannot read it (${(e as Error).message}); starting without it`);
      return [];
    }
    try {
      const data = JSON.parse(text) as { version?: number; companions?: unknown };
      if (data.version !== 1 || !Array.isArray(data.companions)) throw new Error("not a sup state file (version 1)");
      const ok = data.companions.filter((c): c is Intent => !!c && typeof (c as Intent).name === "string" && typeof (c as Intent).manualStop === "boolean");
      return ok.map((c) => ({
        name: c.name,
        manualStop: c.manualStop,
        restartCount: Number(c.restartCount) || 0,
        exitCount: Number(c.exitCount) || 0,
        lastExitCode: typeof c.lastExitCode === "number" ? c.lastExitCode : null,
        lastExitSignal: typeof c.lastExitSignal === "string" ? c.lastExitSignal : null,
        exitedAt: typeof c.exitedAt === "number" ? c.exitedAt : null,
      }));
    } catch (e) {
      this.log(`state_file ${this.path}: ignored, it is corrupt (${(e as Error).message})`);
      return [];
    }
  }

  /** write `intents` soon (coalesced); never throws */
  save(intents: Map<string, Intent>): void {
    if (!this.path) return;
    this.latest = intents;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, WRITE_MS);
  }

  /** write now: to a temp file beside it, then rename over it (a reader never sees half a file) */
  flush(): void {
    if (!this.path || !this.latest) return;
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify({ version: 1, companions: [...this.latest.values()] }) + "\n", { mode: 0o600 });
      renameSync(tmp, this.path);
      if (this.failing) this.log(`state_file ${this.path}: written again`);
      this.failing = false;
    } catch (e) {
      if (!this.failing) this.log(`state_file ${this.path}: cannot write it (${(e as Error).message}); sup goes on, the state is kept in memory`);
      this.failing = true;
    }
  }
}
