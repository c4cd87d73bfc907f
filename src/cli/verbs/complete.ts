// `sup __complete names [-c FILE | -s SOCKET]` (hidden): companion names for the completion
// scripts, one per line — from the running sup within 0.5 s, else from the config file. Quiet.
import { readFileSync } from "node:fs";
import { request } from "../../control/client.ts";
import { configPath } from "../../config/path.ts";
import { out } from "../output.ts";
import { socketPath } from "../socket.ts";
import { CONFIG, SOCKET, type Verb } from "../verb.ts";

export const complete: Verb = {
  name: "__complete",
  summary: "companion names for the completion scripts",
  synopsis: "names",
  flags: [CONFIG, SOCKET],
  exits: [[0, "always"]],
  env: [],
  example: "sup __complete names",
  ctl: false,
  hidden: true,
  positionals: "none",
  async run(p) {
    if (p.args[0] !== "names") return 0;
    const config = p.flags.config as string | undefined;
    let names: string[] = [];
    try {
      const [r] = await request(socketPath(p.flags.socket as string | undefined, config), [{ cmd: "status" }], 500);
      if (r!.ok) names = (r!.companions as { name: string }[]).map((c) => c.name);
    } catch {
      names = fromConfig(configPath(config));
    }
    if (names.length) out(names.join("\n") + "\n");
    return 0;
  },
};

/** the companions of the config file, instances included (NAME and NAME.1 … NAME.N) */
function fromConfig(file: string): string[] {
  try {
    const raw = Bun.TOML.parse(readFileSync(file, "utf8")) as { companions?: Record<string, { instances?: unknown }> };
    return Object.entries(raw.companions ?? {}).flatMap(([name, c]) => {
      const n = c?.instances;
      return typeof n === "number" && Number.isInteger(n) && n > 1 && n <= 1000 ? [name, ...Array.from({ length: n }, (_, i) => `${name}.${i + 1}`)] : [name];
    });
  } catch {
    return [];
  }
}
