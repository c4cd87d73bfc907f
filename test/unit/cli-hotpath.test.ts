// `sup ctl status` is the hot path for scripts: what main.ts reaches through static imports
// (everything evaluated at start) must not include the config schema, zod, citty, the arbiter
// or the manager — verbs load those with import() when they run.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const transpiler = new Bun.Transpiler({ loader: "ts" });

/** files and packages reached from `entry` by static imports (type-only imports are erased) */
function staticGraph(entry: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.endsWith(".ts")) return; // package.json (the version)
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.kind !== "import-statement") continue;
      if (imp.path.startsWith(".")) walk(resolve(dirname(file), imp.path));
      else seen.add(`pkg:${imp.path}`);
    }
  };
  walk(entry);
  return [...seen].map((f) => (f.startsWith("pkg:") ? f : relative(ROOT, f))).sort();
}

test("the verbs' static import graph stays small: no schema, zod, citty, arbiter or manager", () => {
  const graph = staticGraph(join(ROOT, "src/cli/dispatch.ts"));
  expect(graph).toContain("src/cli/verbs/status.ts");
  expect(graph).toContain("src/control/client.ts");
  const heavy = graph.filter((f) => /^(src\/(arbiter|manager|contain|config\/(load|schema|validate))\b|pkg:(zod|citty))/.test(f));
  expect(heavy).toEqual([]);
});
