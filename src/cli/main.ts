// The one executable's entry: `sup run | check | ctl | version` and the hidden `__manager`.
// Fast paths first (version, manager) so they pay for no CLI library.
import { VERSION } from "../version.ts";

const raw = process.argv.slice(2);

async function main(): Promise<number> {
  const [cmd, ...rest] = raw;
  if (cmd === "--version" || cmd === "-V" || cmd === "version") {
    process.stdout.write(`sup ${VERSION}\n`);
    return 0;
  }
  if (cmd === "__manager") {
    const { runManager } = await import("../manager/main.ts");
    const c = rest.indexOf("-c");
    await runManager(c >= 0 ? rest[c + 1] : undefined);
    return -1; // keeps running; exits on its own
  }
  if (!process.stdout.isTTY) process.env.NO_COLOR ??= "1"; // citty colours even when piped
  const { commands, usage } = await import("./commands.ts");
  const { UsageError } = await import("./args.ts");
  try {
    if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
      process.stdout.write(usage());
      return cmd ? 0 : 2;
    }
    const run = commands[cmd];
    if (!run) throw new UsageError(`unknown command '${cmd}'`);
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`sup: ${e.message}\n${usage(cmd)}`);
      return 2;
    }
    process.stderr.write(`sup: internal error: ${(e as Error)?.stack ?? e}\n`);
    return 70;
  }
}

const code = await main();
if (code >= 0) process.exit(code);
