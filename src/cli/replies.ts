// The wording and exit status of the manager's replies, shared by the ctl verbs: the client owns
// them (style: the wire carries the code, the client the words).
import { request } from "../control/client.ts";
import type { Json } from "../control/protocol.ts";
import { err, out } from "./output.ts";

/** print a refusal; 2 for a rejected config, else 1 */
export function refused(r: Json): number {
  const text = String(r.error ?? r.message ?? "refused");
  // an older manager that does not know a rev 2 command
  const older = /^unknown command '/.test(text) ? " (the running sup does not support it yet)" : "";
  err(`sup: ${text}${older}\n`);
  return r.code === "INVALID_CONFIG" ? 2 : 1;
}

/** the replies of a per-name command sent without waiting: messages to stdout, refusals to stderr */
export function report(replies: Json[]): number {
  let code = 0;
  for (const r of replies) {
    if (r.ok) out(`${r.message}\n`);
    else code = Math.max(code, refused(r));
  }
  return code;
}

/** every companion's name, in config order */
export async function allNames(socket: string): Promise<string[]> {
  const [reply] = await request(socket, [{ cmd: "status" }]);
  if (!reply!.ok) throw new Error(`status refused: ${reply!.error ?? reply!.message}`);
  return ((reply!.companions as { name: string }[]) ?? []).map((c) => c.name);
}

/** `names`, or every companion when one of them is `all`; duplicates dropped, order kept */
export async function targets(socket: string, names: string[]): Promise<string[]> {
  return names.includes("all") ? allNames(socket) : [...new Set(names)];
}

/** "web started" -> "started", "web: still STARTING after 6s" -> "still STARTING after 6s" */
export function withoutName(message: string, name: string): string {
  for (const prefix of [`${name}: `, `${name} `]) if (message.startsWith(prefix)) return message.slice(prefix.length);
  return message;
}
