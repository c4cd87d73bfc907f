// Which control socket a ctl verb talks to: -s SOCKET, else [sup].socket of the config (-c FILE,
// $SUP_CONFIG, ./sup.toml), read without the schema so a config with other problems still works.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { configPath } from "../config/path.ts";
import { Exit } from "./verb.ts";

export function socketPath(socketFlag: string | undefined, configFlag: string | undefined): string {
  if (socketFlag) return resolve(socketFlag);
  const file = configPath(configFlag);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Exit(2, `sup: cannot read config ${file} to find the control socket; pass -c FILE or -s SOCKET`);
  }
  let socket = scanSocket(text);
  if (socket === undefined) {
    try {
      const raw = Bun.TOML.parse(text) as { sup?: { socket?: unknown } };
      socket = typeof raw.sup?.socket === "string" ? raw.sup.socket : null;
    } catch (e) {
      throw new Exit(2, `sup: invalid TOML in ${file}: ${(e as Error).message}; pass -s SOCKET`);
    }
  }
  return resolve(file, "..", socket ?? "sup.sock");
}

/**
 * [sup].socket from the text without parsing the whole file (a 1000-companion config costs
 * ~7 ms to parse; a status call is ~15 ms in all). Returns the value, null when the key is
 * surely absent, undefined when the file is not plain enough to tell (then TOML decides).
 */
export function scanSocket(text: string): string | null | undefined {
  let inSup = false;
  let sawHeader = false;
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    if (t.startsWith("[")) {
      sawHeader = true;
      inSup = /^\[\s*sup\s*\]\s*(#.*)?$/.test(t);
      continue;
    }
    if (!sawHeader && /^("?)sup\1\s*[.=]/.test(t)) return undefined; // sup.socket = … / sup = { … } at the top
    if (!inSup || !/^("?)socket\1\s*=/.test(t)) continue;
    const m = /^("?)socket\1\s*=\s*(?:"([^"\\]*)"|'([^']*)')\s*(#.*)?$/.exec(t);
    return m ? (m[2] ?? m[3])! : undefined;
  }
  return null;
}
