// `-c FILE` / `-s SOCKET` may come before the verb: `sup -c sup.toml status` is `sup status -c sup.toml`.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

test("-c and -s before the verb, with sup VERB and with sup ctl VERB", async () => {
  f = new SupFixture(`
[companions.web]
command = "forever"
startsecs = 0
`);
  await f.start();
  await f.waitState("web", "RUNNING");
  for (const args of [["-c", f.config, "status"], ["-s", f.socket, "status"], [`--config=${f.config}`, "status"], ["-c", f.config, "ctl", "status"]]) {
    const r = await f.sup(args);
    expect({ args, code: r.code }).toEqual({ args, code: 0 });
    expect(r.stdout).toMatch(/^web +RUNNING/m);
  }
});
