// `sup ctl status` (= `sup status`): the table, or one companion's detail; exit 4 when not every
// companion asked about is as wanted.
import { request } from "../../control/client.ts";
import { out } from "../output.ts";
import { refused } from "../replies.ts";
import { detail, type Entry, isWanted, table, type View } from "../status-view.ts";
import { CTL_ENV, EXIT_NOT_WANTED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, JSON_FLAG, type Verb } from "../verb.ts";

export const status: Verb = {
  name: "status",
  summary: "show the companions: a table, or with one NAME its detail",
  synopsis: "[NAME...]",
  flags: [JSON_FLAG],
  exits: [
    [EXIT_OK[0], "every companion asked about is as wanted: RUNNING (ready, healthy), stopped by the operator or never started (autostart = false), or EXITED with a success code"],
    [1, "refused (an unknown name)"],
    EXIT_USAGE,
    EXIT_UNREACHABLE,
    [EXIT_NOT_WANTED[0], "reachable, but some companion is not as wanted (FATAL, BACKOFF, STARTING, STOPPING, WAITING, EXITED with a failure, not ready, unhealthy)"],
  ],
  env: CTL_ENV,
  example: "sup ctl status web",
  notes: "The table: NAME STATE PID UPTIME RESTARTS LAST-EXIT CPU RSS, and REASON where the description adds something.\nWith exactly one NAME: every key of its entry and the last lines it wrote to stderr. --json: the reply as it came.",
  ctl: true,
  positionals: "names",
  async run(p, ctx) {
    const names = p.args;
    const [reply] = await request(ctx.socket(), [{ cmd: "status", ...(names.length ? { names } : {}) }]);
    if (!reply!.ok) {
      if (p.flags.json) out(JSON.stringify(reply, null, 2) + "\n");
      return p.flags.json ? 1 : refused(reply!);
    }
    const list = reply!.companions as Entry[];
    const code = list.every(isWanted) ? 0 : 4;
    const view: View = { now: Date.now(), color: !!process.stdout.isTTY && !process.env.NO_COLOR };
    if (p.flags.json) out(JSON.stringify(reply, null, 2) + "\n");
    else if (names.length === 1 && list.length === 1) out(detail(list[0]!, view));
    else out(table(list, view));
    return code;
  },
};
