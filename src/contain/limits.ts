// What a companion's process must have in force before its own code runs and Bun.spawn cannot
// set by itself: resource limits (the operator's RLIMIT_NOFILE among them), and — with the
// per-companion keys of contract §10 — user, groups, umask and nice. Applied around the spawn
// (the child inherits them at fork), or by an exec trampoline where that cannot be undone.
import type { CompanionSpec } from "../config/schema.ts";
import { withSoftNofile, type FdBudget } from "../os/fds.ts";

/** what Bun.spawn is asked for: the argv to run (a trampoline may wrap it), and uid/gid */
export interface SpawnShape {
  argv: string[];
  uid?: number;
  gid?: number;
}

export interface LimitsContext {
  /** the soft RLIMIT_NOFILE sup was started with (null: unknown) */
  operatorNofile: number | null;
  fds: FdBudget;
  warn: (message: string) => void;
}

let warnedNofile = false;

/**
 * Run `spawn` (which calls Bun.spawn with the given shape) so that the child starts with
 * `spec`'s limits in force. Returns what `spawn` returned; throws what it throws.
 */
export function withLimits<T>(spec: CompanionSpec, ctx: LimitsContext, spawn: (shape: SpawnShape) => T): T {
  const { value, lowered } = withSoftNofile(ctx.operatorNofile, ctx.fds, () => spawn({ argv: spec.argv }));
  if (!lowered && ctx.operatorNofile !== null && ctx.operatorNofile < ctx.fds.limit && !warnedNofile) {
    warnedNofile = true;
    ctx.warn(`warning: sup holds too many fds to hand companions RLIMIT_NOFILE ${ctx.operatorNofile} for now; ${spec.name} got ${ctx.fds.limit}`);
  }
  return value;
}
