// How to run this same executable again (compiled, or under `bun run`), for the manager.
export function selfCommand(...args: string[]): string[] {
  const compiled = (process.argv[1] ?? "").startsWith("/$bunfs/") || Bun.main.startsWith("/$bunfs/");
  return compiled ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}
