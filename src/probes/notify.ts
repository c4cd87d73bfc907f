// sd_notify for companions (contract §9, man 3 sd_notify): each run with `ready = { notify =
// true }` gets its own Unix datagram socket in a private folder and NOTIFY_SOCKET naming it.
// Datagrams are read when they arrive — the kernel raises SIGURG for each (fcntl F_SETSIG; SIGURG
// is ignored by default, so a stray one harms nothing) — never by polling, and each keeps its
// boundaries. The socket's name is random in a folder that cannot be listed (0711): knowing the
// path is the right to notify, as with systemd's per-service sockets.
import { chmodSync, mkdirSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { bindDatagram, lastError, recvDatagram } from "../os/libc.ts";
import { closeQuietly } from "../os/pipes.ts";
import { isRunning, procInfo } from "../os/proc.ts";

/** the signal arrivals raise: SIGURG (23 on Linux), ignored by default */
const ARRIVAL_SIGNAL = 23;
/** sd_notify messages are short; systemd takes up to its page size */
const MAX_DATAGRAM = 4096;
/** datagrams read per socket per wake-up: a flooding companion cannot hold the loop */
const MAX_PER_WAKE = 64;

/** one sd_notify message: its `KEY=value` lines (man 3 sd_notify) */
export type NotifyMessage = Map<string, string>;

interface Listener {
  fd: number;
  path: string;
  onMessage: (m: NotifyMessage) => void;
}

export class NotifySockets {
  private readonly listeners = new Map<number, Listener>();
  private dir: string | null = null;
  private hooked = false;
  private readonly buf = new Uint8Array(MAX_DATAGRAM);

  /**
   * A new socket for one run; `onMessage` gets each datagram parsed. Returns its path (for
   * NOTIFY_SOCKET) and close(), or throws with the reason (no fd left, folder not writable).
   */
  open(onMessage: (m: NotifyMessage) => void): { path: string; close: () => void } {
    const dir = this.folder();
    const path = join(dir, `${randomBytes(8).toString("hex")}.sock`);
    const fd = bindDatagram(path, ARRIVAL_SIGNAL);
    if (fd === null) throw Object.assign(new Error(`cannot make the sd_notify socket ${path}: ${lastError()}`), { code: /EMFILE|ENFILE/.exec(lastError())?.[0] });
    // a companion running as another user must be able to send: the random name is the secret
    try {
      chmodSync(path, 0o666);
    } catch {}
    if (!this.hooked) {
      process.on("SIGURG", () => this.drain());
      this.hooked = true;
    }
    const l: Listener = { fd, path, onMessage };
    this.listeners.set(fd, l);
    return {
      path,
      close: () => {
        if (!this.listeners.delete(fd)) return;
        this.read(l); // what it said last (STOPPING=1, a STATUS=) still counts
        closeQuietly(fd);
        try {
          unlinkSync(path);
        } catch {}
      },
    };
  }

  /** read every waiting datagram of every socket (one SIGURG may stand for many) */
  drain(): void {
    for (const l of this.listeners.values()) this.read(l);
  }

  private read(l: Listener): void {
    for (let i = 0; i < MAX_PER_WAKE; i++) {
      const n = recvDatagram(l.fd, this.buf);
      if (n < 0) return;
      l.onMessage(parse(new TextDecoder().decode(this.buf.subarray(0, n))));
    }
    // more are waiting: read them after what else the loop has to do
    setImmediate(() => this.listeners.has(l.fd) && this.read(l));
  }

  /** remove the folder (at the manager's exit) */
  close(): void {
    for (const l of [...this.listeners.values()]) closeQuietly(l.fd);
    this.listeners.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  /** the private folder of this manager: /tmp/sup-notify.<pid>; folders of dead managers are removed */
  private folder(): string {
    if (this.dir) return this.dir;
    const base = tmpdir().length <= 40 ? tmpdir() : "/tmp";
    try {
      for (const e of readdirSync(base)) {
        const m = /^sup-notify\.(\d+)$/.exec(e);
        if (m && Number(m[1]) !== process.pid && !isRunning(procInfo(Number(m[1])))) rmSync(join(base, e), { recursive: true, force: true });
      }
    } catch {}
    const dir = join(base, `sup-notify.${process.pid}`);
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    chmodSync(dir, 0o711);
    this.dir = dir;
    return dir;
  }
}

/** "READY=1\nSTATUS=up" -> {READY: "1", STATUS: "up"}; lines without "=" are ignored */
export function parse(text: string): NotifyMessage {
  const m: NotifyMessage = new Map();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) m.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return m;
}
