// `sup init [FILE]`: write a commented starter sup.toml that `sup check` accepts. Never
// overwrites: the file is created with O_EXCL, so not even a file made a moment ago is lost.
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import { CONFIG, type Verb } from "../verb.ts";
import { configPath } from "../../config/path.ts";

/**
 * The starter file. Every commented `# key = value` line may be uncommented as it stands and the
 * file stays valid (a unit test does just that), so the comments are also a menu.
 */
export const STARTER = `# sup.toml — the companions sup runs beside your application.
# Check it with \`sup check\`, run it with \`sup run\`; \`sup --help\` lists every verb.
# Relative paths resolve against this file's folder. Editors with Taplo (Even Better TOML)
# complete and check the keys with sup.schema.json: see "Editors" in sup's README.

[sup]
# socket = "sup.sock"          # control socket for \`sup ctl\` (mode 0600)
# graceful_timeout = 30        # seconds sup waits in all for companions to stop
# fail_fast = false            # true: any companion ending stops sup (containers, CI)

[defaults]                     # every companion key but \`command\`, for all of them
# restart = "always"           # always | on-failure | never
# restart_delay = 1            # seconds before the first retry; doubles per failure ...
# max_restart_delay = 30       # ... up to this
# stop_signal = "SIGTERM"      # then SIGKILL after stop_timeout seconds
# stop_timeout = 10
# log_file = "{name}.log"      # captured output also goes to this file ({name}: the companion)

[companions.hello]
# a string runs with /bin/sh -c; an array is argv, no shell: ["python3", "-m", "http.server", "8000"]
command = 'while true; do echo "hello from $SUP_NAME at $(date +%T)"; sleep 5; done'
# cwd = "."                    # working folder
# env = { PORT = "8000" }      # added to the environment sup was started with
# startsecs = 1                # seconds up before it counts as RUNNING
# restart = "on-failure"       # this companion only
# stdout = "capture"           # capture | inherit | null | a file path
# stderr = "stdout"            # capture | inherit | null | stdout | a file path
# essential = false            # true: this one ending stops sup
`;

export const init: Verb = {
  name: "init",
  summary: "write a commented starter sup.toml (never overwrites)",
  synopsis: "[FILE]",
  flags: [CONFIG],
  exits: [
    [0, "written"],
    [1, "not written: the file exists already, or it cannot be created"],
    [2, "usage error"],
  ],
  env: [["SUP_CONFIG", "the file to write when neither FILE nor -c is given"]],
  example: "sup init && sup check && sup run",
  notes: "FILE, else -c FILE, else $SUP_CONFIG, else ./sup.toml.",
  ctl: false,
  positionals: "none",
  async run(p) {
    if (p.args.length > 1) throw new UsageError(`unexpected argument '${p.args[1]}'`);
    if (p.args.length && p.flags.config !== undefined) throw new UsageError("give the file once: as FILE or as -c FILE");
    const file = configPath(p.args[0] ?? (p.flags.config as string | undefined));
    const { closeSync, openSync, writeSync } = await import("node:fs");
    let fd: number;
    try {
      fd = openSync(file, "wx", 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === "EEXIST"
          ? "it exists already; sup init never overwrites (name another file: sup init FILE)"
          : code === "ENOENT"
            ? "its folder does not exist"
            : code === "EACCES"
              ? "permission denied"
              : (e as Error).message;
      err(`sup: not written: ${file}: ${why}\n`);
      return 1;
    }
    try {
      writeSync(fd, STARTER);
    } finally {
      closeSync(fd);
    }
    const c = (p.args[0] ?? p.flags.config) !== undefined ? ` -c ${file}` : "";
    out(`wrote ${file}: one companion, hello; edit it, then: sup check${c} && sup run${c}\n`);
    return 0;
  },
};
