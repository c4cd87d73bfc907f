// sup's version, baked in at build time from package.json; the commit, build date and target
// come from `bun build --define SUP_BUILD=…` (scripts/compile.ts). A plain `bun src/cli/main.ts`
// has no SUP_BUILD: a dev build of commit "unknown".
import pkg from "../package.json" with { type: "json" };
export const VERSION: string = pkg.version;

declare const SUP_BUILD: { commit: string; built: string; target: string } | undefined;

/** the build facts, null in a dev run (no define) */
export const BUILD: { commit: string; built: string; target: string } | null = typeof SUP_BUILD === "object" ? SUP_BUILD : null;

/** `sup 0.1.0 (commit abc1234, built 2026-12-01T03:00:00Z, linux-x64)`, newline included */
export function versionLine(): string {
  const b = BUILD;
  return `sup ${VERSION} (${b ? `commit ${b.commit}, built ${b.built}, ${b.target}` : "commit unknown, dev build"})\n`;
}

/** `sup version --json`: built and target are null in a dev build */
export function versionInfo(): { version: string; commit: string; built: string | null; target: string | null; bun: string } {
  return { version: VERSION, commit: BUILD?.commit ?? "unknown", built: BUILD?.built ?? null, target: BUILD?.target ?? null, bun: Bun.version };
}
