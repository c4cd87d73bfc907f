// sup.schema.json is generated from the zod schema (scripts/schema.ts): the checked-in file must
// be what the generator writes now, and it must describe every key the validator takes.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { jsonSchema, jsonSchemaText, SCHEMA_FILE } from "../../scripts/schema.ts";
import { builtinDefaults, companionOnlyFields, supSchema } from "../../src/config/schema.ts";

test("sup.schema.json is in sync with the schema and the README (else: bun scripts/schema.ts)", () => {
  const want = jsonSchemaText();
  const got = readFileSync(SCHEMA_FILE, "utf8");
  if (got !== want) throw new Error("sup.schema.json is stale: run `bun scripts/schema.ts` and commit the result");
});

test("every key of [sup], [defaults] and a companion, described; command required; names checked", () => {
  const s = jsonSchema() as { properties: Record<string, { properties?: Record<string, { description?: string }>; additionalProperties?: any; propertyNames?: any }>; additionalProperties: boolean };
  expect(s.additionalProperties).toBe(false);
  expect(Object.keys(s.properties.sup!.properties!).sort()).toEqual(Object.keys(supSchema.shape).sort());
  expect(Object.keys(s.properties.defaults!.properties!).sort()).toEqual(Object.keys(builtinDefaults).sort());
  const companion = s.properties.companions!.additionalProperties;
  expect(Object.keys(companion.properties).sort()).toEqual(["command", ...Object.keys(builtinDefaults), ...Object.keys(companionOnlyFields)].sort());
  expect(companion.required).toEqual(["command"]);
  expect(companion.additionalProperties).toBe(false);
  expect(s.properties.companions!.propertyNames.pattern).toBe("^[A-Za-z0-9_][A-Za-z0-9_.-]*$");
  expect(companion.properties.restart.enum).toEqual(["always", "on-failure", "never"]);
  expect(companion.properties.restart.description).toContain("on-failure");
  // values zod cannot describe are written by hand: sizes and limits take numbers and strings
  expect(JSON.stringify(companion.properties.max_memory)).toContain("integer");
  expect(JSON.stringify(companion.properties.limits.properties.nofile)).toContain("unlimited");
});
