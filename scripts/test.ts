// The whole test suite, as CI runs it: typecheck, build dist/sup, bun test; then one line
// "N passed, N failed" (the typecheck counts as one test). Exit non-zero on any failure.
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
const bun = process.execPath; // this Bun, wherever it is: it need not be on the PATH
process.chdir(root);
const only = process.argv.slice(2);
let passed = 0;
let failed = 0;

const tsc = await $`${bun} x tsc --noEmit -p .`.nothrow();
if (tsc.exitCode === 0) {
  passed++;
  console.log("typecheck: ok");
} else {
  failed++;
  console.log("typecheck: FAILED");
}

const build = await $`${bun} scripts/build.ts`.nothrow();
if (build.exitCode !== 0) {
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}

const proc = Bun.spawn([bun, "test", ...(only.length ? only : ["test/"])], { stdio: ["ignore", "inherit", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
let err = "";
const dec = new TextDecoder();
for await (const chunk of proc.stderr) {
  const s = dec.decode(chunk);
  err += s;
  process.stderr.write(s);
}
const code = await proc.exited;
const pass = Number(/^\s*(\d+) pass/m.exec(err)?.[1] ?? 0);
const fail = Number(/^\s*(\d+) fail/m.exec(err)?.[1] ?? 0);
passed += pass;
failed += fail;
if (code !== 0 && fail === 0) failed++; // the runner itself failed (load error, crash)
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
