// start / stop / restart: by default each name waits for its outcome (`wait: true`), all names
// at once, pipelined on one connection; one line per name in the order given. Exit 0 when every
// name ended as asked, 1 when any failed, was refused or timed out.
import { ctlTimeoutMs, request } from "../control/client.ts";
import type { Json } from "../control/protocol.ts";
import { type Flag, type Parsed, UsageError } from "./args.ts";
import { err, out } from "./output.ts";
import { report, targets, withoutName } from "./replies.ts";
import { CTL_ENV, type Ctx, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, type ExitDoc, seconds, TIMEOUT } from "./verb.ts";

export const NO_WAIT: Flag = { name: "no-wait", type: "boolean", description: "send the command and print the manager's reply at once, without waiting for the outcome" };
export const LIFECYCLE_FLAGS: readonly Flag[] = [NO_WAIT, TIMEOUT];
export const LIFECYCLE_EXITS: readonly ExitDoc[] = [EXIT_OK, [1, "any name failed (FATAL, exited before it was up), was refused (unknown name) or timed out"], EXIT_USAGE, EXIT_UNREACHABLE];
export const LIFECYCLE_ENV = CTL_ENV;
export const LIFECYCLE_SYNOPSIS = "NAME... | all";

type Cmd = "start" | "stop" | "restart";
const DONE: Record<Cmd, string> = { start: "started", stop: "stopped", restart: "restarted" };

export async function lifecycle(cmd: Cmd, p: Parsed, ctx: Ctx): Promise<number> {
  const noWait = p.flags["no-wait"] === true;
  const timeout = seconds(p.flags.timeout);
  if (noWait && timeout !== undefined) throw new UsageError("--timeout is how long to wait: it does not go with --no-wait");
  if (!p.args.length) throw new UsageError(`${cmd} needs NAME... or all`);
  const socket = ctx.socket();
  const names = await targets(socket, p.args);
  if (!names.length) {
    out("no companions\n");
    return 0;
  }
  if (noWait) return report(await request(socket, names.map((name) => ({ cmd, name }))));
  const requests = names.map((name) => ({ cmd, name, wait: true, ...(timeout === undefined ? {} : { timeout }) }));
  // the manager bounds each wait (its default, or --timeout): give it that plus the usual margin
  const replies = await request(socket, requests, timeout === undefined ? null : timeout * 1000 + ctlTimeoutMs());
  let code = 0;
  names.forEach((name, i) => {
    const line = outcome(cmd, name, replies[i]!);
    if (line.ok) out(line.text + "\n");
    else {
      err(line.text + "\n");
      code = 1;
    }
  });
  return code;
}

/** `web: started`, `typo: ERROR (command not found: pyhton3)`, `web: TIMEOUT (still STARTING after 6s)` */
export function outcome(cmd: Cmd, name: string, r: Json): { ok: boolean; text: string } {
  const said = withoutName(String(r.message ?? r.error ?? ""), name);
  if (r.ok) return { ok: true, text: `${name}: ${said === "started" || said === DONE[cmd] ? DONE[cmd] : said}` };
  return { ok: false, text: `${name}: ${r.code === "TIMEOUT" ? "TIMEOUT" : "ERROR"} (${said})` };
}
