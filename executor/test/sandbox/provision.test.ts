/**
 * Tearing identities down with something still running as them: `removeIdentities` must empty the
 * identity (kill as the identity) before `userdel`, which refuses a user that still runs a process.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { removeIdentities } from "../../src/sandbox/provision.ts";
import { IS_ROOT, idOf, makeIdentities, type TestIdentities } from "./helpers.ts";

let ids: TestIdentities | undefined;
let left: ChildProcess | undefined;
afterEach(() => {
  left?.kill("SIGKILL");
  ids?.remove();
});

describe.skipIf(!IS_ROOT)("removeIdentities", () => {
  it("kills what an identity left running, then deletes the user", async () => {
    ids = makeIdentities(1);
    const name = ids.names[0] as string;
    const { uid, gid } = idOf(name);
    left = spawn("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "sleep", "300"], {
      stdio: "ignore",
    });
    const ended = once(left, "exit");
    // setpriv has switched once /proc shows the sleep under the identity's uid.
    await expect.poll(() => spawnSync("pgrep", ["-u", String(uid), "sleep"]).status, { timeout: 5_000 }).toBe(0);

    removeIdentities([name]);

    const [code, signal] = await ended;
    expect({ code, signal }).toEqual({ code: null, signal: "SIGKILL" });
    expect(spawnSync("getent", ["passwd", name]).status).not.toBe(0);
  });
});
