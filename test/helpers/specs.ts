// Builds real configs and companion specs for unit tests through validateConfig, so tests use
// exactly what sup would load. Pure: no file access.
import type { CompanionSpec, SupConfig } from "../../src/config/schema.ts";
import { validateConfig } from "../../src/config/validate.ts";

/** a config file that never has to exist: specs resolve their paths against its folder */
export const CONFIG_FILE = "/virtual/app/sup.toml";

export type RawTable = Record<string, unknown>;

export function makeConfig(companions: Record<string, RawTable>, top: { sup?: RawTable; defaults?: RawTable } = {}): SupConfig {
  const r = validateConfig({ ...top, companions }, CONFIG_FILE);
  if (!r.ok) throw new Error(`test config is invalid:\n${r.problems.join("\n")}`);
  return r.config;
}

export function makeSpec(name = "web", fields: RawTable = {}): CompanionSpec {
  const spec = makeConfig({ [name]: { command: "prog", ...fields } }).companions[0];
  if (!spec) throw new Error("no spec");
  return spec;
}
