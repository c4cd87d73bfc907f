// `sup run`: the arbiter in the foreground.
import { UsageError } from "../args.ts";
import { CONFIG, type Verb } from "../verb.ts";
import { configPath } from "../../config/path.ts";

export const run: Verb = {
  name: "run",
  summary: "run sup in the foreground: start the companions and supervise them",
  synopsis: "",
  flags: [CONFIG],
  exits: [
    [0, "stopped by the operator (SIGTERM, SIGINT, SIGQUIT, `sup ctl shutdown`)"],
    [1, "the socket path cannot be taken (a live sup there, or not a socket)"],
    [2, "invalid config (every problem is printed; nothing starts)"],
    [3, "or more: under fail_fast / essential, the exit code of the companion that ended it"],
  ],
  env: [["SUP_CONFIG", "the config file when -c is not given"]],
  example: "sup run -c /etc/sup.toml",
  notes: "SIGTERM/SIGINT stop gracefully, SIGQUIT stops fast, SIGHUP rereads the config.",
  ctl: false,
  positionals: "none",
  async run(p) {
    if (p.args.length) throw new UsageError(`unexpected argument '${p.args[0]}'`);
    const { runArbiter } = await import("../../arbiter/arbiter.ts");
    return runArbiter(configPath(p.flags.config as string | undefined));
  },
};
