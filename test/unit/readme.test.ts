// The README's config reference is checked against the schema: every key documented, no
// documented key that the schema does not know.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { builtinDefaults, companionOnlyFields, supSchema } from "../../src/config/schema.ts";

const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
const section = readme.slice(readme.indexOf("## Config reference"), readme.indexOf("## States"));

function keysOfTable(afterHeading: string): string[] {
  const start = section.indexOf(afterHeading);
  const lines = section.slice(start).split("\n");
  const out: string[] = [];
  let inTable = false;
  for (const l of lines) {
    if (l.startsWith("| key")) inTable = true;
    else if (inTable && !l.startsWith("|")) break;
    const m = /^\| `([a-z_]+)` \|/.exec(l);
    if (inTable && m) out.push(m[1]!);
  }
  return out;
}

test("README [sup] table matches the schema", () => {
  const supKeys = Object.keys(supSchema.shape).sort();
  expect(keysOfTable("`[sup]`").sort()).toEqual(supKeys);
});

test("README companion table matches the schema", () => {
  expect(keysOfTable("`[defaults]` and").sort()).toEqual(["command", ...Object.keys(builtinDefaults), ...Object.keys(companionOnlyFields)].sort());
});
