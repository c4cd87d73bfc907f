// The log file sink on a real full filesystem (a 64 KiB tmpfs, so this needs root): ENOSPC
// mid-chunk keeps the part written and counts the rest as dropped, the problem is reported
// once, nothing is retried within the second, and writing resumes once space is freed.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOG_RETRY_MS, LogFile } from "../../src/logs/file.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("logfile-disk: skipped, mounting a tmpfs needs root");

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sup-logdisk-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
}

async function withTinyDisk(fn: (disk: string) => void | Promise<void>): Promise<void> {
  const disk = join(dir, "disk");
  mkdirSync(disk);
  run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk]);
  try {
    await fn(disk);
  } finally {
    run(["umount", disk]);
  }
}

test.skipIf(!isRoot)("full disk: partial chunk kept, rest dropped and counted, reported once, resumes when space is freed", async () => {
  await withTinyDisk((disk) => {
    const filler = join(disk, "filler");
    writeFileSync(filler, Buffer.alloc(24 * 1024, 0x2e));
    const path = join(disk, "web.log");
    const clock = { t: 5000 };
    const problems: (string | null)[] = [];
    const file = new LogFile({ path, maxBytes: 0, backups: 3, onProblem: (m) => problems.push(m), now: () => clock.t });

    // 4000-byte chunks do not line up with pages: the chunk that hits the limit is cut
    const chunks: Buffer[] = [];
    for (let i = 0; i < 25; i++) {
      const c = Buffer.alloc(4000, 0x41 + (i % 26));
      chunks.push(c);
      file.write(c);
    }
    const stream = Buffer.concat(chunks);
    const kept = statSync(path).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(stream.length);
    expect(kept % 4000).not.toBe(0); // the cut chunk: its first part is in the file
    expect(readFileSync(path).equals(stream.subarray(0, kept))).toBe(true);
    expect(file.droppedBytes).toBe(stream.length - kept);
    expect(file.size).toBe(kept);
    expect(problems).toEqual([`cannot write ${path}: no space left on device (ENOSPC)`]);
    expect(file.problem).toBe(problems[0]!);

    unlinkSync(filler);
    file.write(Buffer.from("within the second: dropped\n"));
    expect(statSync(path).size).toBe(kept);
    clock.t += LOG_RETRY_MS;
    file.write(Buffer.from("back\n"));
    expect(readFileSync(path).equals(Buffer.concat([stream.subarray(0, kept), Buffer.from("back\n")]))).toBe(true);
    expect(problems).toEqual([problems[0]!, null]);
    expect(file.problem).toBeNull();
    expect(file.droppedBytes).toBe(stream.length - kept + 27);
    file.close();
  });
});

test.skipIf(!isRoot)("full disk with rotation: renames still work, backups + current hold exactly what was not dropped", async () => {
  await withTinyDisk((disk) => {
    const path = join(disk, "web.log");
    const clock = { t: 0 };
    const problems: (string | null)[] = [];
    const file = new LogFile({ path, maxBytes: 10_000, backups: 20, onProblem: (m) => problems.push(m), now: () => clock.t });
    const written: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      const c = Buffer.alloc(1500, 0x61 + (i % 26));
      const before = file.droppedBytes;
      file.write(c);
      // what reached a file is the head of the chunk; the rest was counted as dropped
      written.push(c.subarray(0, c.length - (file.droppedBytes - before)));
      clock.t += 300;
    }
    expect(problems[0]).toBe(`cannot write ${path}: no space left on device (ENOSPC)`);
    expect(problems.filter((p) => p !== null).length).toBe(1);
    const names: string[] = [];
    for (let i = 1; i <= 20; i++) {
      try {
        statSync(`${path}.${i}`);
        names.unshift(`${path}.${i}`);
      } catch {
        break;
      }
    }
    names.push(path);
    expect(names.length).toBeGreaterThan(2); // rotated while the disk filled
    const onDisk = Buffer.concat(names.map((n) => readFileSync(n)));
    expect(onDisk.equals(Buffer.concat(written))).toBe(true);
    file.close();
  });
});
