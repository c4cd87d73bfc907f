// The log file sink (contract §8) against real files in a temp dir: rotation by rename keeps
// every byte exactly once and in order, backups are numbered newest-first, reopen follows an
// external rotation, and an unwritable path drops and counts bytes, reports once, recovers.
import { afterEach, beforeEach, describe as group, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOG_RETRY_MS, LogFile, type LogFileOptions } from "../../src/logs/file.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sup-logfile-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** a virtual monotonic clock and every onProblem call */
function make(over: Partial<LogFileOptions> & { path: string }) {
  const clock = { t: 1000 };
  const problems: (string | null)[] = [];
  const file = new LogFile({
    maxBytes: 0,
    backups: 10,
    onProblem: (m) => problems.push(m),
    now: () => clock.t,
    ...over,
  });
  return { file, clock, problems };
}

/** a deterministic PRNG (mulberry32) so a failure replays the same writes */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function bytesOf(random: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (random() * 256) | 0;
  return b;
}

function concat(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

/** path.N … path.1, path: oldest first, stopping at the first number missing */
function chain(path: string): { names: string[]; parts: Buffer[] } {
  const names: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) names.unshift(`${path}.${i}`);
  names.push(path);
  return { names, parts: names.map((n) => readFileSync(n)) };
}

const read = (p: string) => readFileSync(p, "latin1");

group("rotation", () => {
  test("backups + current are byte-identical to every write, in order; no write is split", () => {
    const path = join(dir, "web.log");
    const maxBytes = 8192;
    const backups = 150;
    const { file, problems } = make({ path, maxBytes, backups });
    const random = rng(42);
    const writes: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      // mostly small lines, sometimes empty, sometimes larger than maxBytes
      const r = random();
      const n = r < 0.01 ? maxBytes + ((random() * 2 * maxBytes) | 0) : r < 0.05 ? 0 : 1 + ((random() * 200) | 0);
      const b = bytesOf(random, n);
      writes.push(b);
      file.write(b);
    }
    file.close();
    const { names, parts } = chain(path);
    expect(names.length).toBeGreaterThan(50);
    expect(names.length).toBeLessThan(backups); // every rotated file is kept
    expect(existsSync(`${path}.${names.length}`)).toBe(false);
    expect(concat(parts).equals(concat(writes))).toBe(true);
    expect(file.droppedBytes).toBe(0);
    expect(problems).toEqual([]);

    // every file starts and ends at a write boundary; over maxBytes only when it holds one write
    const ends = new Map<number, number>(); // offset after write i -> i
    let off = 0;
    writes.forEach((w, i) => {
      off += w.length;
      ends.set(off, i);
    });
    let at = 0;
    let prevWrite = -1;
    for (const [i, part] of parts.entries()) {
      at += part.length;
      const last = ends.get(at);
      if (last === undefined) throw new Error(`${names[i]} ends inside a write (offset ${at})`);
      const nonEmpty = writes.slice(prevWrite + 1, last + 1).filter((w) => w.length > 0).length;
      if (part.length > maxBytes) expect({ file: names[i], writes: nonEmpty }).toEqual({ file: names[i]!, writes: 1 });
      if (i < parts.length - 1) expect(part.length).toBeGreaterThan(0);
      prevWrite = last;
    }
  });

  test("backups kept are the newest N, numbered newest-first; older ones removed", () => {
    const path = join(dir, "web.log");
    const { file } = make({ path, maxBytes: 100, backups: 3 });
    const random = rng(7);
    const writes: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) {
      const b = bytesOf(random, 1 + ((random() * 60) | 0));
      writes.push(b);
      file.write(b);
    }
    const { names, parts } = chain(path);
    expect(names).toEqual([`${path}.3`, `${path}.2`, `${path}.1`, path]);
    expect(existsSync(`${path}.4`)).toBe(false);
    // what is kept is the end of the stream, oldest backup first
    const all = concat(writes);
    const kept = concat(parts);
    expect(all.subarray(all.length - kept.length).equals(kept)).toBe(true);
    expect(file.size).toBe(statSync(path).size);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(100);
  });

  test("numbering by hand: newest backup is .1", () => {
    const path = join(dir, "a.log");
    const { file } = make({ path, maxBytes: 4, backups: 2 });
    for (const s of ["aaa\n", "bbb\n", "ccc\n", "ddd\n"]) file.write(Buffer.from(s));
    expect([read(`${path}.2`), read(`${path}.1`), read(path)]).toEqual(["bbb\n", "ccc\n", "ddd\n"]);
    expect(existsSync(`${path}.3`)).toBe(false);
  });

  test("a write larger than maxBytes goes whole into a fresh file", () => {
    const path = join(dir, "big.log");
    const { file } = make({ path, maxBytes: 20, backups: 5 });
    const big = "x".repeat(50);
    file.write(Buffer.from(big)); // empty file: no rotation, written whole
    expect(read(path)).toBe(big);
    expect(file.size).toBe(50);
    file.write(Buffer.from("0123456789"));
    file.write(Buffer.from(big));
    file.write(Buffer.from("tail"));
    expect([read(`${path}.3`), read(`${path}.2`), read(`${path}.1`), read(path)]).toEqual([big, "0123456789", big, "tail"]);
  });

  test("a write that fills the file exactly does not rotate; the next byte does", () => {
    const path = join(dir, "edge.log");
    const { file } = make({ path, maxBytes: 10, backups: 1 });
    file.write(Buffer.from("01234"));
    file.write(Buffer.from("56789"));
    expect(existsSync(`${path}.1`)).toBe(false);
    file.write(Buffer.from("!"));
    expect([read(`${path}.1`), read(path)]).toEqual(["0123456789", "!"]);
  });

  test("maxBytes 0 never rotates", () => {
    const path = join(dir, "all.log");
    const { file } = make({ path, maxBytes: 0, backups: 3 });
    const chunk = Buffer.alloc(1000, 0x61);
    for (let i = 0; i < 500; i++) file.write(chunk);
    expect(existsSync(`${path}.1`)).toBe(false);
    expect(statSync(path).size).toBe(500_000);
    expect(file.size).toBe(500_000);
  });

  test("backups 0: the old file is removed at rotation, none kept", () => {
    const path = join(dir, "zero.log");
    writeFileSync(`${path}.1`, "stale from a run that kept backups\n");
    const { file } = make({ path, maxBytes: 8, backups: 0 });
    file.write(Buffer.from("first\n"));
    file.write(Buffer.from("second\n"));
    expect(read(path)).toBe("second\n");
    expect(existsSync(`${path}.1`)).toBe(false);
  });

  test("backups beyond the number kept, left by an earlier run, are removed at rotation", () => {
    const path = join(dir, "fewer.log");
    for (const i of [1, 2, 3, 4, 5]) writeFileSync(`${path}.${i}`, `old ${i}\n`);
    const { file } = make({ path, maxBytes: 4, backups: 2 });
    file.write(Buffer.from("aaa\n"));
    file.write(Buffer.from("bbb\n"));
    expect([read(`${path}.2`), read(`${path}.1`), read(path)]).toEqual(["old 1\n", "aaa\n", "bbb\n"]);
    for (const i of [3, 4, 5]) expect(existsSync(`${path}.${i}`)).toBe(false);
  });

  test("the size of an existing file is taken at open (a restart of sup rotates on time)", () => {
    const path = join(dir, "old.log");
    writeFileSync(path, "from the last run\n"); // 18 bytes
    const { file } = make({ path, maxBytes: 20, backups: 2 });
    expect(file.size).toBe(18);
    file.write(Buffer.from("new\n"));
    expect([read(`${path}.1`), read(path)]).toEqual(["from the last run\n", "new\n"]);
  });

  test("bytes are written as they are (binary, invalid UTF-8, NUL, no newline added)", () => {
    const path = join(dir, "bin.log");
    const { file } = make({ path });
    const all = new Uint8Array(256).map((_, i) => i);
    file.write(all);
    file.write(Uint8Array.from([0xff, 0xfe, 0xc3]));
    expect(readFileSync(path).equals(Buffer.concat([all, Uint8Array.from([0xff, 0xfe, 0xc3])]))).toBe(true);
  });

  test("a rotation that cannot rename keeps writing the current file (nothing lost), reports, recovers", () => {
    const path = join(dir, "stuck.log");
    mkdirSync(`${path}.1`); // rename(path, path.1) fails: a folder in the way
    writeFileSync(join(`${path}.1`, "x"), "");
    const { file, clock, problems } = make({ path, maxBytes: 4, backups: 1 });
    file.write(Buffer.from("aaa\n"));
    file.write(Buffer.from("bbb\n"));
    expect(read(path)).toBe("aaa\nbbb\n");
    expect(problems.length).toBe(1);
    expect(problems[0]).toStartWith(`cannot rotate ${path}: `);
    expect(file.problem).toBe(problems[0]!);
    file.write(Buffer.from("ccc\n")); // within the second: no new rename attempt, still appended
    expect(read(path)).toBe("aaa\nbbb\nccc\n");
    expect(problems.length).toBe(1);
    rmSync(`${path}.1`, { recursive: true });
    clock.t += LOG_RETRY_MS;
    file.write(Buffer.from("ddd\n"));
    expect([read(`${path}.1`), read(path)]).toEqual(["aaa\nbbb\nccc\n", "ddd\n"]);
    expect(problems).toEqual([problems[0]!, null]);
    expect(file.problem).toBeNull();
    expect(file.droppedBytes).toBe(0);
  });
});

group("reopen", () => {
  test("after an external rename, writes go to the old file until reopen, then to a new one", () => {
    const path = join(dir, "web.log");
    const { file } = make({ path, maxBytes: 1000, backups: 3 });
    file.write(Buffer.from("one\n"));
    renameSync(path, `${path}.1`); // logrotate: mv web.log web.log.1
    file.write(Buffer.from("two\n")); // still the same open file
    file.reopen();
    expect(file.size).toBe(0);
    file.write(Buffer.from("three\n"));
    expect([read(`${path}.1`), read(path)]).toEqual(["one\ntwo\n", "three\n"]);
    expect(file.size).toBe(6);
  });

  test("reopen of a file still there keeps appending, with its size", () => {
    const path = join(dir, "same.log");
    const { file } = make({ path });
    file.write(Buffer.from("abc"));
    file.reopen();
    expect(file.size).toBe(3);
    file.write(Buffer.from("def"));
    expect(read(path)).toBe("abcdef");
  });

  test("close: later writes are dropped (counted), reopen does not revive it, nothing throws", () => {
    const path = join(dir, "closed.log");
    const { file, problems } = make({ path });
    file.write(Buffer.from("kept\n"));
    file.close();
    file.write(Buffer.from("late\n"));
    file.reopen();
    file.write(Buffer.from("later\n"));
    file.close();
    expect(read(path)).toBe("kept\n");
    expect(file.droppedBytes).toBe(11);
    expect(problems).toEqual([]);
  });
});

group("unwritable", () => {
  test("parent is a regular file: reported once with path and errno, dropped, retried once a second, recovered", () => {
    const parent = join(dir, "logs");
    writeFileSync(parent, "a file where the folder should be\n");
    const path = join(parent, "web.log");
    const { file, clock, problems } = make({ path, maxBytes: 100, backups: 2 });
    // the constructor opens at once: the problem shows before any output
    expect(problems).toEqual([`cannot open ${path}: not a directory (ENOTDIR)`]);
    expect(file.problem).toBe(problems[0]!);
    for (let i = 0; i < 100; i++) file.write(Buffer.from("line\n"));
    clock.t += LOG_RETRY_MS;
    file.write(Buffer.from("still\n")); // retried, fails again: not reported again
    expect(problems.length).toBe(1);
    expect(file.droppedBytes).toBe(506);

    rmSync(parent);
    mkdirSync(parent);
    file.write(Buffer.from("too soon\n")); // writable now, but the retry waits for its second
    expect(existsSync(path)).toBe(false);
    expect(file.droppedBytes).toBe(515);
    clock.t += LOG_RETRY_MS - 1;
    file.write(Buffer.from("still too soon\n"));
    expect(existsSync(path)).toBe(false);
    clock.t += 1;
    file.write(Buffer.from("back\n"));
    expect(read(path)).toBe("back\n");
    expect(problems).toEqual([problems[0]!, null]);
    expect(file.problem).toBeNull();
    expect(file.droppedBytes).toBe(530);
    file.write(Buffer.from("more\n"));
    expect(read(path)).toBe("back\nmore\n");
    expect(problems.length).toBe(2);
  });

  test("a folder at the path: EISDIR, then written once the folder is gone", () => {
    const path = join(dir, "web.log");
    mkdirSync(path);
    const { file, clock, problems } = make({ path });
    file.write(Buffer.from("lost\n"));
    expect(problems).toEqual([`cannot open ${path}: illegal operation on a directory (EISDIR)`]);
    expect(file.droppedBytes).toBe(5);
    rmdirSync(path);
    clock.t += LOG_RETRY_MS;
    file.write(Buffer.from("found\n"));
    expect(read(path)).toBe("found\n");
    expect(problems).toEqual([problems[0]!, null]);
  });

  test("a missing folder is not created", () => {
    const path = join(dir, "nope", "web.log");
    const { file, problems } = make({ path });
    file.write(Buffer.from("x\n"));
    expect(existsSync(join(dir, "nope"))).toBe(false);
    expect(problems).toEqual([`cannot open ${path}: no such file or directory (ENOENT)`]);
    expect(file.droppedBytes).toBe(2);
  });

  test("reopen tries at once, whatever the retry pace", () => {
    const path = join(dir, "web.log");
    mkdirSync(path);
    const { file, problems } = make({ path });
    rmdirSync(path);
    file.reopen(); // SIGUSR1 right after the operator fixed it
    file.write(Buffer.from("now\n"));
    expect(read(path)).toBe("now\n");
    expect(problems.at(-1)).toBeNull();
  });

  test("a write that fails on an open fd (/dev/full: ENOSPC) drops the bytes and reports once", () => {
    if (!existsSync("/dev/full")) throw new Error("/dev/full is missing: this test needs it");
    const { file, clock, problems } = make({ path: "/dev/full" });
    file.write(Buffer.from("a\n"));
    clock.t += LOG_RETRY_MS;
    file.write(Buffer.from("b\n"));
    expect(problems).toEqual(["cannot write /dev/full: no space left on device (ENOSPC)"]);
    expect(file.droppedBytes).toBe(4);
  });
});
