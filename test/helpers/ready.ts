// Helpers for the readiness, health, dependency and sd_notify tests: free ports, the record
// files of test/fixtures/ready-server, an `events` subscription, and a NOTIFY_SOCKET listener
// (test/fixtures/notify-listen) standing in for systemd.
import { existsSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { FIXTURES, SUP, type SupFixture } from "./sup.ts";
import { waitFor } from "./wait.ts";

/** a TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, closed) */
export function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** one line of a ready-server record file: "EVENT TIME [DETAIL]" */
export interface Rec {
  ev: string;
  t: number;
  detail: string;
}

export function parseRecords(text: string): Rec[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [ev, t, ...d] = l.split(" ");
      return { ev: ev!, t: Number(t), detail: d.join(" ") };
    });
}

/** the records of `rel` in the test folder */
export function records(f: SupFixture, rel: string): Rec[] {
  return parseRecords(f.read(rel));
}

/** the first record `ev` of `rel` (throws naming the file's content when there is none) */
export function first(f: SupFixture, rel: string, ev: string): Rec {
  const r = records(f, rel).find((x) => x.ev === ev);
  if (!r) throw new Error(`no "${ev}" in ${rel}: ${JSON.stringify(f.read(rel))}`);
  return r;
}

/** wait until `rel` has at least `count` records `ev` (and detail matching `detail`, if given) */
export function waitRecord(f: SupFixture, rel: string, ev: string, opts: { count?: number; detail?: RegExp; timeoutMs?: number } = {}): Promise<Rec[]> {
  const { count = 1, detail, timeoutMs = 20_000 } = opts;
  const pick = () => records(f, rel).filter((r) => r.ev === ev && (!detail || detail.test(r.detail)));
  return waitFor(`${rel} to record "${ev}"${detail ? ` ${detail}` : ""} ${count} time(s)`, pick, (l) => l.length >= count, timeoutMs);
}

/** a streaming `events` subscription; `changes` are the state changes seen so far */
export class EventStream {
  lines: any[] = [];
  private buf = "";
  private sock: { end(): void } | null = null;

  static async open(f: SupFixture): Promise<EventStream> {
    const s = new EventStream();
    const sock = await Bun.connect({
      unix: f.socket,
      socket: {
        data: (_sock, d) => {
          s.buf += d.toString();
          let nl: number;
          while ((nl = s.buf.indexOf("\n")) >= 0) {
            s.lines.push(JSON.parse(s.buf.slice(0, nl)));
            s.buf = s.buf.slice(nl + 1);
          }
        },
      },
    });
    s.sock = sock;
    sock.write(JSON.stringify({ cmd: "events" }) + "\n");
    await waitFor("the events stream to open", () => s.lines.length, (n) => n >= 1, 10_000);
    if (s.lines[0]?.ok !== true) throw new Error(`events refused: ${JSON.stringify(s.lines[0])}`);
    return s;
  }

  /** state changes ({ts,name,from,to,reason,pid}), optionally of one companion */
  changes(name?: string): any[] {
    return this.lines.slice(1).filter((e) => e.from !== undefined && (name === undefined || e.name === name));
  }

  /** wait until a change of `name` matches `ok`; returns it */
  async waitChange(name: string, what: string, ok: (e: any) => boolean, timeoutMs = 20_000): Promise<any> {
    const l = await waitFor(`an event of ${name} ${what}`, () => this.changes(name).filter(ok), (x) => x.length > 0, timeoutMs);
    return l[0];
  }

  /** index of the first change of `name` from -> to (`from` "*" = any), -1 when none */
  indexOf(name: string, from: string, to: string): number {
    return this.changes().findIndex((e) => e.name === name && (from === "*" || e.from === from) && e.to === to);
  }

  close(): void {
    this.sock?.end();
    this.sock = null;
  }
}

/** one datagram the listener got */
export interface Datagram {
  t: number;
  raw: string;
  fields: Record<string, string>;
}

/**
 * test/fixtures/notify-listen as systemd's NOTIFY_SOCKET: a datagram socket at `path` in the test
 * folder. It is started without the test's census mark (SupFixture.cleanup waits for every
 * marked process to go): stop() it before the fixture's cleanup.
 */
export class NotifyListener {
  private proc: Subprocess | null = null;
  constructor(
    readonly path: string,
    readonly out: string,
  ) {}

  async start(): Promise<void> {
    this.proc = Bun.spawn([`${FIXTURES}/notify-listen`, this.path, this.out], { stdio: ["ignore", "ignore", "inherit"] });
    await waitFor(`notify-listen to bind ${this.path}`, () => existsSync(this.out), (x) => x, 10_000);
  }

  messages(): Datagram[] {
    if (!existsSync(this.out)) return [];
    return readFileSync(this.out, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  /** wait until a datagram after the first `after` ones has field `key` (= `value`, if given) */
  async waitField(key: string, value?: string, after = 0, timeoutMs = 20_000): Promise<{ msg: Datagram; index: number }> {
    const find = () => {
      const all = this.messages();
      const index = all.findIndex((m, i) => i >= after && key in m.fields && (value === undefined || m.fields[key] === value));
      return index >= 0 ? { msg: all[index]!, index } : null;
    };
    const r = await waitFor(`a datagram with ${key}${value === undefined ? "" : `=${value}`} (after #${after})`, find, (x) => x !== null, timeoutMs);
    return r!;
  }

  async stop(): Promise<void> {
    if (!this.proc) return;
    this.proc.kill("SIGKILL");
    await this.proc.exited;
    this.proc = null;
  }
}

/** `sup ctl ARGS` left running in the background; `code` is null until it exits */
export interface Background {
  code: number | null;
  done: Promise<{ code: number; stdout: string; stderr: string }>;
}

export function ctlInBackground(f: SupFixture, ...args: string[]): Background {
  const p = Bun.spawn([SUP, "ctl", "-c", f.config, ...args], { cwd: f.dir, env: f.env(), stdio: ["ignore", "pipe", "pipe"] });
  const bg: Background = {
    code: null,
    done: Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]).then(([stdout, stderr, code]) => {
      bg.code = code;
      return { code, stdout, stderr };
    }),
  };
  return bg;
}
