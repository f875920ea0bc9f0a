import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OMITTED } from "../../src/process/capped-output.ts";
import { runProcess } from "../../src/process/run.ts";
import { childEnv, fixture, grandchildPid, isLive } from "./helpers.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "vault-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Short limits keep the suite fast; a child that ignores SIGTERM costs timeout + grace.
const fast = { cwd: tmp, env: childEnv(), timeoutMs: 10_000, killGraceMs: 200 };

describe("argv and environment", () => {
  it("passes shell metacharacters verbatim and never runs them", async () => {
    const canary = path.join(tmp, "canary-argv");
    const args = [
      `; touch ${canary}`,
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `| touch ${canary}`,
      `&& touch ${canary} &`,
      `> ${canary}`,
      `'"\\ *?[]{}~ $HOME %PATH% \n\t`,
      "",
      "ünïcødé €",
    ];
    const out = await runProcess({ ...fast, argv: [fixture("echo-argv"), ...args] });
    expect(out.exitCode).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(args);
    expect(existsSync(canary)).toBe(false);
  });

  it("the canary check does catch a shell (the same payload through sh -c creates it)", async () => {
    const canary = path.join(tmp, "canary-shell");
    const out = await runProcess({ ...fast, argv: ["/bin/sh", "-c", `echo x; touch ${canary}`] });
    expect(out.exitCode).toBe(0);
    expect(existsSync(canary)).toBe(true);
  });

  it("gives the child exactly the env passed, stdin /dev/null, its own process group and the cwd", async () => {
    process.env.VAULT_TEST_LEAK = "leaked";
    try {
      const out = await runProcess({ ...fast, env: childEnv({ GIVEN: "yes" }), argv: [fixture("reports-self")] });
      const seen = JSON.parse(out.stdout) as {
        pid: number;
        pgrp: number;
        session: number;
        stdinTarget: string;
        stdinBytes: number;
        cwd: string;
        env: Record<string, string>;
      };
      expect(seen.env.VAULT_TEST_LEAK).toBeUndefined();
      expect(seen.env.GIVEN).toBe("yes");
      expect(seen.stdinTarget).toBe("/dev/null");
      expect(seen.stdinBytes).toBe(0);
      expect(seen.pid).toBe(out.pid);
      expect(seen.pgrp).toBe(seen.pid);
      expect(seen.session).toBe(seen.pid);
      expect(seen.cwd).toBe(tmp);
    } finally {
      delete process.env.VAULT_TEST_LEAK;
    }
  });

  it("reports pid through onSpawn once", async () => {
    const pids: number[] = [];
    const out = await runProcess({ ...fast, argv: [fixture("echo-argv")], onSpawn: (pid) => pids.push(pid) });
    expect(pids).toEqual([out.pid]);
  });
});

describe("exit status and spawn failures", () => {
  it("reports a nonzero exit with both streams", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("exits-nonzero"), "3"] });
    expect(out).toMatchObject({ exitCode: 3, signal: null, timedOut: false, aborted: false, spawnError: null });
    expect(out.stdout).toBe("some output\n");
    expect(out.stderr).toBe("boom: something failed\n");
  });

  it("reports exit 0 as 0", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("exits-nonzero"), "0"] });
    expect(out.exitCode).toBe(0);
    expect(out.spawnError).toBeNull();
  });

  it("turns a missing executable into spawnError ENOENT, without throwing", async () => {
    const spawned: number[] = [];
    const out = await runProcess({ ...fast, argv: [path.join(tmp, "no-such-cli")], onSpawn: (p) => spawned.push(p) });
    expect(out.spawnError).toMatch(/^ENOENT/);
    expect(out).toMatchObject({ exitCode: null, pid: null, timedOut: false });
    expect(spawned).toEqual([]);
  });

  it("turns a non-executable file into spawnError EACCES", async () => {
    const file = path.join(tmp, "not-executable");
    writeFileSync(file, "#!/bin/sh\necho hi\n");
    chmodSync(file, 0o644);
    const out = await runProcess({ ...fast, argv: [file] });
    expect(out.spawnError).toMatch(/^EACCES/);
  });

  it("turns a missing cwd and an empty argv into spawnError", async () => {
    const noCwd = await runProcess({ ...fast, cwd: path.join(tmp, "missing-dir"), argv: [fixture("echo-argv")] });
    expect(noCwd.spawnError).toMatch(/^ENOENT/);
    const empty = await runProcess({ ...fast, argv: [] });
    expect(empty.spawnError).toBe("empty argv");
  });
});

describe("timeouts kill the whole process group", () => {
  it("SIGTERM ends a child that honours it, without waiting for the grace", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("hangs")], timeoutMs: 300, killGraceMs: 30_000 });
    expect(out).toMatchObject({ timedOut: true, aborted: false, signal: "SIGTERM", exitCode: null });
    expect(out.stdout).toBe("ready\n");
  });

  it("a child that finishes before the timeout is not touched", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("hangs"), "50"], timeoutMs: 10_000 });
    expect(out).toMatchObject({ timedOut: false, signal: null, exitCode: 0, stdout: "ready\ndone\n" });
  });

  it("a child that ignores SIGTERM gets SIGTERM first, then SIGKILL after the grace", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("ignores-sigterm")], timeoutMs: 300 });
    expect(out).toMatchObject({ timedOut: true, signal: "SIGKILL", exitCode: null });
    expect(out.stdout).toContain("got SIGTERM, ignoring");
  });

  it("kills the grandchild along with the child on timeout", async () => {
    // 1 s rather than 300 ms: the grandchild must exist before the kill, even on a busy machine.
    const out = await runProcess({ ...fast, argv: [fixture("spawns-grandchild"), "hang"], timeoutMs: 1_000 });
    expect(out.timedOut).toBe(true);
    expect(isLive(out.pid as number)).toBe(false);
    expect(isLive(grandchildPid(out.stdout))).toBe(false);
  });

  it("kills a grandchild that outlives its parent, and resolves without waiting for the timeout", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("spawns-grandchild"), "exit"], timeoutMs: 60_000 });
    expect(out).toMatchObject({ timedOut: false, exitCode: 0, signal: null });
    expect(isLive(grandchildPid(out.stdout))).toBe(false);
  });

  it("a run whose grandchild finishes on its own ends cleanly and leaves nothing", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("spawns-grandchild"), "finish"] });
    expect(out).toMatchObject({ timedOut: false, exitCode: 0, signal: null });
    expect(isLive(grandchildPid(out.stdout))).toBe(false);
  });

  it("still resolves when a grandchild escapes the group with setsid and holds stdout (systemd is the backstop)", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("spawns-grandchild"), "setsid"], timeoutMs: 60_000 });
    const escaped = grandchildPid(out.stdout);
    try {
      expect(out).toMatchObject({ timedOut: false, exitCode: 0 });
      // Documents the limit of process-group kills: this one is out of our reach.
      expect(isLive(escaped)).toBe(true);
    } finally {
      process.kill(escaped, "SIGKILL");
    }
  });

  it("leaves no live descendant in 100 of 100 timed-out runs", async () => {
    const runs = 100;
    const concurrency = 8;
    const leftovers: number[] = [];
    let exercised = 0;
    let unexercised = 0;
    const worker = async (): Promise<void> => {
      while (exercised < runs) {
        const out = await runProcess({ ...fast, argv: [fixture("spawns-grandchild"), "hang"], timeoutMs: 400 });
        expect(out.timedOut).toBe(true);
        // On a loaded machine node may not even start within 400 ms; such a run proves nothing
        // about grandchildren, so it is repeated rather than counted.
        if (!out.stdout.includes('{"grandchild"')) {
          unexercised += 1;
          expect(unexercised).toBeLessThan(runs);
          continue;
        }
        exercised += 1;
        for (const pid of [out.pid as number, grandchildPid(out.stdout)]) if (isLive(pid)) leftovers.push(pid);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(leftovers).toEqual([]);
  });
});

describe("abort", () => {
  it("aborting kills the tree and marks the outcome aborted", async () => {
    const ac = new AbortController();
    const out = await runProcess({
      ...fast,
      argv: [fixture("spawns-grandchild"), "hang"],
      signal: ac.signal,
      onSpawn: () => setTimeout(() => ac.abort(), 1_000),
    });
    expect(out).toMatchObject({ aborted: true, timedOut: false });
    expect(isLive(grandchildPid(out.stdout))).toBe(false);
  });

  it("a signal that never fires changes nothing", async () => {
    const ac = new AbortController();
    const out = await runProcess({ ...fast, argv: [fixture("hangs"), "20"], signal: ac.signal });
    expect(out).toMatchObject({ aborted: false, exitCode: 0 });
  });

  it("an already aborted signal spawns nothing", async () => {
    const spawned: number[] = [];
    const out = await runProcess({
      ...fast,
      argv: [fixture("hangs")],
      signal: AbortSignal.abort(),
      onSpawn: (p) => spawned.push(p),
    });
    expect(out).toMatchObject({ aborted: true, pid: null, exitCode: null });
    expect(spawned).toEqual([]);
  });
});

/** What `run` answered, and how far this process's RSS rose above where it was while it ran. */
async function rssGrowth<T>(run: () => Promise<T>): Promise<{ out: T; grew: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const out = await run();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { out, grew: peak - base };
}

describe("output cap", () => {
  it("stores at most 1 MiB of a 100 MB flood, marks it truncated, drains the rest, and RSS stays flat", async () => {
    const { out, grew } = await rssGrowth(() =>
      runProcess({ ...fast, argv: [fixture("floods-output"), String(100 * 1024 * 1024)], timeoutMs: 60_000 }),
    );
    // exit 0 means the child wrote all 100 MB: reading never stopped at the cap.
    expect(out).toMatchObject({ exitCode: 0, timedOut: false, stdoutTruncated: true, stderrTruncated: false });
    expect(Buffer.byteLength(out.stdout)).toBe(1024 * 1024);
    expect(grew).toBeLessThan(64 * 1024 * 1024);
  });

  it("keeps small output whole and untruncated", async () => {
    const out = await runProcess({ ...fast, argv: [fixture("floods-output"), "1000"] });
    expect(out.stdout).toBe("x".repeat(1000));
    expect(out.stdoutTruncated).toBe(false);
  });

  it("caps stderr separately", async () => {
    const out = await runProcess({
      ...fast,
      maxOutputBytes: 4096,
      argv: [fixture("floods-output"), "100000", "e", "stderr"],
    });
    expect(out).toMatchObject({ stderrTruncated: true, stdoutTruncated: false, stdout: "" });
    expect(out.stderr).toBe("e".repeat(4096));
  });

  it("drops a multi-byte character cut by the cap instead of mangling it", async () => {
    const out = await runProcess({ ...fast, maxOutputBytes: 1000, argv: [fixture("floods-output"), "3000", "€"] });
    expect(out.stdoutTruncated).toBe(true);
    expect(out.stdout).toBe("€".repeat(333));
  });

  it("with a tail: the head and the last bytes of a 99 MB flood, the cut marked between them, RSS flat", async () => {
    const total = 99 * 1024 * 1024; // whole characters of 3 bytes
    const { out, grew } = await rssGrowth(() =>
      runProcess({
        ...fast,
        maxOutputBytes: 1000,
        tailBytes: 4 * 1024 * 1024,
        argv: [fixture("floods-output"), String(total), "€"],
        timeoutMs: 60_000,
      }),
    );
    expect(out).toMatchObject({ exitCode: 0, stdoutTruncated: true });
    const [head, tail] = out.stdout.split(OMITTED(total - 1000 - 4 * 1024 * 1024));
    // Characters cut at either end of the cut are dropped, never mangled.
    expect(head).toBe("€".repeat(333));
    expect(tail).toBe("€".repeat(Math.floor((4 * 1024 * 1024) / 3)));
    expect(grew).toBeLessThan(64 * 1024 * 1024);
  });

  it("with a tail: output that fits in head and tail together is whole and not truncated", async () => {
    const out = await runProcess({
      ...fast,
      maxOutputBytes: 1000,
      tailBytes: 3000,
      argv: [fixture("floods-output"), "3999"],
    });
    expect(out).toMatchObject({ stdout: "x".repeat(3999), stdoutTruncated: false });
  });

  it("keeps multi-byte output intact when it fits", async () => {
    const out = await runProcess({ ...fast, maxOutputBytes: 3000, argv: [fixture("floods-output"), "3000", "€"] });
    expect(out.stdoutTruncated).toBe(false);
    expect(out.stdout).toBe("€".repeat(1000));
  });
});
