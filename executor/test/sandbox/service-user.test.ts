/**
 * The executor as the systemd unit runs it: not root, a service user that is a member of every
 * agent identity's group and holds only CAP_SETUID, CAP_SETGID and CAP_KILL as ambient capabilities,
 * with no_new_privs (setpriv reproduces exactly that). Root's powers cannot paper over a mistake
 * here: the agent must end with no capability at all, the executor must still read, commit and clean
 * what the agent made (also what it made private), and kill what it left running.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureIdentities, removeIdentities } from "../../src/sandbox/provision.ts";
import { type Harness, post, until, waitJob } from "../server/harness.ts";
import {
  cleanupAll,
  IS_ROOT,
  idOf,
  installedExecutor,
  makeIdentities,
  runningExecutor,
  sandboxHarness,
  type TestIdentities,
  trees,
} from "./helpers.ts";

const CAPS = "-all,+setuid,+setgid,+kill";

/** Pids of live processes whose real uid is `uid` (root reads every /proc entry). */
function processesOf(uid: number): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, "utf8");
        return /^Uid:\s+(\d+)/m.exec(status)?.[1] === String(uid) && !/^State:\s+Z/m.test(status);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe.skipIf(!IS_ROOT)("as the unit runs it: a service user with the unit's ambient capabilities", () => {
  const svc = `vt${randomBytes(3).toString("hex")}-svc`;
  let ids: TestIdentities;
  let h: Harness;
  let url: string;
  let stop: () => Promise<unknown>;
  let output: () => string;

  beforeAll(async () => {
    ensureIdentities([svc]);
    ids = makeIdentities(2, { memberOf: svc });
    h = sandboxHarness(ids.prefix, { KILL_GRACE_MS: "300" });
    spawnSync("chown", ["-R", `${svc}:${svc}`, h.dir]);
    // Run as installed (the bundle and a node under the harness dir): the service user cannot read
    // a checkout under a folder closed to other users, as it could not read root's home under the unit.
    const installed = installedExecutor(h.dir);
    ({ url, output, stop } = await runningExecutor(
      h,
      {},
      [
        "setpriv",
        `--reuid=${svc}`,
        `--regid=${svc}`,
        "--init-groups",
        `--inh-caps=${CAPS}`,
        `--ambient-caps=${CAPS}`,
        `--bounding-set=${CAPS}`,
        "--no-new-privs",
        "--",
      ],
      installed,
    ));
  });
  afterAll(() =>
    cleanupAll(
      () => stop?.(),
      () => h?.cleanup(),
      () => ids?.remove(),
      () => removeIdentities([svc]),
    ),
  );

  const run = async (prompt: string, over: Record<string, unknown> = {}) => {
    const res = await post(`${url}/execute`, {
      jobKey: `k-${randomBytes(4).toString("hex")}`,
      profile: "sonnet",
      prompt,
      repo: "demo",
      ...over,
    });
    return (await res.json()) as {
      status: string;
      result: { ok: boolean; run: { text: string; error?: { kind: string } }; files: { path: string }[] };
    };
  };

  it("the agent runs as its identity with no capability, no other group, no_new_privs and umask 0007", async () => {
    const view = await run("whoami");
    expect(view.status, output()).toBe("succeeded");
    const me = JSON.parse(view.result.run.text) as Record<string, string>;
    const uids = ids.names.map((n) => idOf(n));
    const mine = uids.find((u) => me.uid === `${u.uid}\t${u.uid}\t${u.uid}\t${u.uid}`);
    expect(mine, JSON.stringify(me)).toBeDefined();
    expect(me.gid).toBe(`${mine?.gid}\t${mine?.gid}\t${mine?.gid}\t${mine?.gid}`);
    expect(me).toMatchObject({ groups: "", capEff: "0".repeat(16), capPrm: "0".repeat(16), capAmb: "0".repeat(16) });
    expect(me.noNewPrivs).toBe("1");
    expect(me.umask).toBe("7");
  });

  it("what the agent made private is still committed, then cleaned; the pooled tree serves the next job clean", async () => {
    const first = await run("private:locked write:a.txt");
    expect(first.status, output()).toBe("succeeded");
    expect(first.result.files.map((f) => f.path).sort()).toEqual(["a.txt", "locked/deep/file.txt"]);
    // The release (recycle into the pool) ends after the answer; the next job on that slot waits for it.
    const second = await run("write:b.txt");
    const third = await run("write:c.txt");
    for (const v of [second, third]) expect(v.status).toBe("succeeded");
    expect(second.result.files.map((f) => f.path)).toEqual(["b.txt"]);
    expect(third.result.files.map((f) => f.path)).toEqual(["c.txt"]);
    // Two slots, each with its pooled tree: no tree was dropped for being uncleanable, and each is locked.
    await until(() => trees(h).every((d) => existsSync(`${d}.state.json`)), 10_000, "every tree released");
    const dirs = trees(h);
    expect(dirs).toHaveLength(2);
    for (const d of dirs) expect((statSync(d).mode & 0o777).toString(8)).toBe("700");
    const homes = path.join(h.dir, "data", "homes");
    await until(() => readdirSync(homes).length === 0, 10_000, "the per-run homes to be removed");
  });

  it("a daemon that left the CLI's process group is killed when the run ends", async () => {
    const beat = `/tmp/vault-beat-${randomBytes(4).toString("hex")}`;
    const view = await run(`daemon:${beat}`);
    expect(view.status).toBe("succeeded");
    // Reaped with the run's cleanup, before its identity is free again: then the file stops growing.
    const alive = () => ids.names.some((n) => processesOf(idOf(n).uid).length > 0);
    await until(() => !alive(), 10_000, "the daemon to be reaped");
    const size = () => (existsSync(beat) ? statSync(beat).size : 0);
    const s1 = size();
    expect(s1).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(size()).toBe(s1);
    spawnSync("rm", ["-f", beat]);
  });

  it("a run past its timeout is killed (CAP_KILL across users) and nothing of the identity survives", async () => {
    const res = await post(`${url}/jobs`, {
      jobKey: "slow",
      profile: "sonnet",
      prompt: "hold",
      repo: "demo",
      timeoutMs: 1000,
    });
    const { jobId } = (await res.json()) as { jobId: string };
    const view = (await waitJob(url, jobId)) as { status: string; result: { run: { error?: { kind: string } } } };
    expect(view.status, JSON.stringify(view)).toBe("failed");
    expect(view.result.run.error?.kind).toBe("timeout");
    for (const n of ids.names) expect(processesOf(idOf(n).uid)).toEqual([]);
    // The failed job's tree is kept for a human, locked to the executor like the pooled ones.
    await until(() => trees(h).every((d) => existsSync(`${d}.state.json`)), 10_000, "every tree released");
    for (const d of trees(h)) expect((statSync(d).mode & 0o777).toString(8)).toBe("700");
  });
});
