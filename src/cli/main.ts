// The one executable's entry: the verbs (dispatch.ts), the hidden `__manager` and `__exec` (a
// companion's exec trampoline).
// Fast paths first (version, manager) so they pay for no CLI library.
import { versionLine } from "../version.ts";

const raw = process.argv.slice(2);

// `sup run` before its re-exec: remember a stop that arrives now and hand it to the new image
let stopBeforeExec: "graceful" | "fast" | null = null;
if (raw[0] === "run" && !process.env.SUP_ARBITER_EXEC) {
  for (const sig of ["SIGTERM", "SIGINT", "SIGQUIT"] as const) {
    process.on(sig, () => (stopBeforeExec = sig === "SIGQUIT" ? "fast" : (stopBeforeExec ?? "graceful")));
  }
}

/** resolves when what was written through process.stdout / process.stderr is out */
let flushed = async (): Promise<void> => {};

async function main(): Promise<number> {
  const [cmd, ...rest] = raw;
  if (cmd === "__exec") {
    // the exec trampoline of a companion with limits/user/nice (contain/limits.ts): never returns
    (await import("../contain/limits.ts")).execTrampoline(rest);
  }
  if ((cmd === "--version" || cmd === "-V" || cmd === "version") && rest.length === 0) {
    (await import("./output.ts")).out(versionLine());
    return 0;
  }
  if (cmd === "run" && !process.env.SUP_ARBITER_EXEC) await quietRuntime();
  if (cmd === "__manager") {
    const { runManager } = await import("../manager/main.ts");
    const c = rest.indexOf("-c");
    await runManager(c >= 0 ? rest[c + 1] : undefined);
    return -1; // keeps running; exits on its own
  }
  // the CLI writes through out/err (synchronous, whole); what other modules write through
  // process.stdout/stderr is waited for before exit, so a slow pipe never gets a cut-off tail
  const { err, trackWrites } = await import("./output.ts");
  const stdout = trackWrites(process.stdout);
  const stderr = trackWrites(process.stderr);
  flushed = async () => void (await Promise.all([stdout(), stderr()]));
  try {
    // verbs are data plus a run function that loads what it needs: `sup ctl status` (the hot
    // path for scripts) loads no schema and no arbiter code
    return await (await import("./dispatch.ts")).dispatch(raw);
  } catch (e) {
    err(`sup: internal error: ${(e as Error)?.stack ?? e}\n`);
    return 70;
  }
}

/**
 * Bun's GC controller wakes an idle process every second (and reads /proc/self/statm) unless
 * BUN_GC_TIMER_DISABLE is set at start-up; JSC's own allocation-driven GC is unaffected. A
 * supervisor idles for weeks, so `sup run` re-executes itself once (same pid, via execve) with
 * it set; the manager inherits it; companions never see it (bun-host.ts strips what we added).
 */
async function quietRuntime(): Promise<void> {
  const { execve, blockSignals, ARBITER_SIGNALS } = await import("../os/libc.ts");
  const { selfCommand } = await import("../os/self.ts");
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.SUP_ARBITER_EXEC = process.env.BUN_GC_TIMER_DISABLE === undefined ? "gc" : "1";
  env.BUN_GC_TIMER_DISABLE ??= "1";
  const argv = selfCommand(...raw);
  // operator signals that arrive across the exec stay pending (the mask survives execve) until
  // the new image has its handlers (arbiter.ts unblocks them), instead of killing sup by default
  blockSignals(ARBITER_SIGNALS, true);
  if (stopBeforeExec) env.SUP_ARBITER_PENDING = stopBeforeExec;
  execve(argv[0]!, argv, env); // returns only if it failed: then run as we are
  blockSignals(ARBITER_SIGNALS, false);
}

const code = await main();
if (code >= 0) {
  await flushed();
  process.exit(code);
}
