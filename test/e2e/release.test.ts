// Release smoke (CI-safe): the release script's own code path, for the host target only, into a
// temp folder. The four targets and qemu are scripts/verify-release.sh's job (too slow for CI).
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/sup.ts";

setDefaultTimeout(90_000);
const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
const out = mkdtempSync(join(tmpdir(), "sup-release-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const git = (...args: string[]) => Bun.spawnSync(["git", "-C", ROOT, ...args]).stdout.toString().trim();

test("release --only linux-x64: the binary, its SHA256SUMS line, and the build facts baked in", async () => {
  const r = Bun.spawnSync([process.execPath, "scripts/release.ts", "--only", "linux-x64", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 0, stderr: "" });
  const name = `sup-${VERSION}-linux-x64`;
  expect(readdirSync(out).sort()).toEqual(["SHA256SUMS", name]);

  // `sha256sum -c` format: "<hex>  <name>", one line per file
  const bin = join(out, name);
  const hex = new Bun.CryptoHasher("sha256").update(await Bun.file(bin).arrayBuffer()).digest("hex");
  expect(readFileSync(join(out, "SHA256SUMS"), "utf8")).toBe(`${hex}  ${name}\n`);

  const v = Bun.spawnSync([bin, "version", "--json"], { stdout: "pipe" });
  expect(v.exitCode).toBe(0);
  const info = JSON.parse(v.stdout.toString());
  const sha = git("rev-parse", "--short", "HEAD");
  expect(sha).toMatch(/^[0-9a-f]{7,}$/);
  // others may be editing the tree meanwhile: "+dirty" may come and go
  expect(info.commit).toMatch(new RegExp(`^${sha}(\\+dirty)?$`));
  expect(info).toMatchObject({ version: VERSION, target: "linux-x64", bun: Bun.version });
  expect(Date.now() - Date.parse(info.built)).toBeLessThan(10 * 60_000);
  expect(info.built).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // `sup --version` (the fast path) and `sup version` print the same one line
  const line = `sup ${VERSION} (commit ${info.commit}, built ${info.built}, linux-x64)\n`;
  for (const args of [["--version"], ["version"]]) expect(Bun.spawnSync([bin, ...args], { stdout: "pipe" }).stdout.toString()).toBe(line);
});

test("release refuses an unknown target, and writes nothing", () => {
  const dir = join(out, "bad");
  const r = Bun.spawnSync([process.execPath, "scripts/release.ts", "--only", "linux-riscv64", "--out", dir], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(1);
  expect(r.stderr.toString()).toContain("unknown target 'linux-riscv64'");
  expect(existsSync(dir)).toBe(false);
});
