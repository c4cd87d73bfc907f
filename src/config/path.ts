// Where the config file is: -c/--config PATH, else $SUP_CONFIG, else ./sup.toml. Kept apart
// from load.ts so that `sup ctl` finds its socket without loading the schema.
import { resolve } from "node:path";

export function configPath(flag?: string): string {
  return resolve(flag || process.env.SUP_CONFIG || "sup.toml");
}
