/**
 * Creates and removes agent identities with the system's own tools, for the local stack and the
 * tests when they run as root. A VM gets them from executor/deploy/install.sh, which does the same
 * in bash (and adds the service user to each identity's group, which root does not need).
 */
import { spawnSync } from "node:child_process";
import { identityNames, resolveIdentity } from "./identities.ts";
import { asIdentity, KILL_ALL } from "./run-as.ts";

export { identityNames };

const LOCKED = /lock|try again/i;
/** userdel's exit status for a user that still runs a process. */
const USERDEL_BUSY = 8;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs a shadow-utils command; parallel runs fight over /etc/passwd's lock, so that is retried. */
function shadow(argv: string[], okCodes: readonly number[] = [0]): void {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 30_000 });
    if (r.status !== null && okCodes.includes(r.status)) return;
    if (attempt < 60 && LOCKED.test(r.stderr ?? "")) {
      sleepSync(50 + Math.random() * 100);
      continue;
    }
    throw new Error(`${argv.join(" ")} failed (${r.status ?? r.error?.message}): ${(r.stderr ?? "").trim()}`);
  }
}

/** Each a system user alone in its own group, no home, no login shell. Existing ones are kept. */
export function ensureIdentities(names: readonly string[], opts: { memberOf?: string } = {}): void {
  for (const name of names) {
    if (resolveIdentity(name) === null)
      shadow([
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "vault-mcp agent slot",
        name,
      ]);
    if (opts.memberOf) shadow(["usermod", "--append", "--groups", name, opts.memberOf]);
  }
}

/** Kills what each identity still runs (as the identity: kill -1), then deletes the user and its group. */
export function removeIdentities(names: readonly string[]): void {
  for (const name of names) {
    const id = resolveIdentity(name);
    if (id === null) continue;
    const [setpriv, ...args] = asIdentity("setpriv", id, ["kill", ...KILL_ALL]);
    const killAll = () => spawnSync(setpriv as string, args, { timeout: 5_000 });
    killAll();
    // A process is gone a moment after its SIGKILL, not at once, and userdel refuses a user that
    // still runs one (8): kill again and retry for up to ~3 s, then let userdel's message speak.
    for (let tries = 0; tries < 60; tries++) {
      const r = spawnSync("userdel", [name], { encoding: "utf8", timeout: 30_000 });
      if (r.status !== USERDEL_BUSY) break;
      sleepSync(50);
      killAll();
    }
    // Deleted above, or why not (a lock is retried); 6: the user's group is gone already.
    if (resolveIdentity(name) !== null) shadow(["userdel", name], [0, 6]);
    if (spawnSync("getent", ["group", name]).status === 0) shadow(["groupdel", name], [0, 6]);
  }
}
