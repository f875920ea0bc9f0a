import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setLogLevel } from "../../src/log.ts";
import { gitOut, type Sandbox, sandbox } from "./helpers.ts";

// Adopting an orphan logs at info; the assertions below check the effect instead.
setLogLevel("warn");

let sb: Sandbox;
beforeEach(() => (sb = sandbox()));
afterEach(() => sb.cleanup());

const listed = (sb: Sandbox) => gitOut(path.join(sb.reposDir, "demo"), "worktree", "list", "--porcelain");

describe("kept trees and sweep", () => {
  it("keeps a failed tree as the CLI left it until the TTL, then sweeps it; its branch stays", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "bad");
    writeFileSync(path.join(wt.path, "half-done.txt"), "x\n");
    await m.release(wt, { keep: true });
    expect(existsSync(path.join(wt.path, "half-done.txt"))).toBe(true);
    expect(gitOut(wt.path, "status", "--porcelain")).toBe("?? half-done.txt");

    sb.clock.now += 59_999;
    expect(await m.sweep()).toBe(0);
    expect(existsSync(wt.path)).toBe(true);

    sb.clock.now += 2;
    expect(await m.sweep()).toBe(1);
    expect(existsSync(wt.path)).toBe(false);
    expect(existsSync(`${wt.path}.state.json`)).toBe(false);
    expect(listed(sb)).not.toContain(wt.path);
    expect(gitOut(path.join(sb.reposDir, "demo"), "branch", "--list", "vault/bad")).toContain("vault/bad");
  });

  it("never sweeps trees in use or in the pool", async () => {
    const m = sb.manager();
    const busy = await m.acquire("demo", undefined, "busy");
    const pooled = await m.acquire("demo", undefined, "pooled");
    await m.release(pooled, { keep: false });
    sb.clock.now += 10 * 60_000;
    expect(await m.sweep()).toBe(0);
    expect(existsSync(busy.path)).toBe(true);
    expect(existsSync(pooled.path)).toBe(true);
  });

  it("after a restart: a tree whose job was running is kept for the TTL, an idle one goes back to the pool", async () => {
    const before = sb.manager();
    const running = await before.acquire("demo", undefined, "running");
    const idle = await before.acquire("demo", undefined, "idle");
    await before.release(idle, { keep: false });

    // A new process: nothing in memory.
    const after = sb.manager();
    expect(await after.sweep()).toBe(0);
    expect(existsSync(running.path)).toBe(true);
    const reused = await after.acquire("demo", undefined, "next");
    expect(reused.path).toBe(idle.path);

    sb.clock.now += 60_001;
    expect(await after.sweep()).toBe(1);
    expect(existsSync(running.path)).toBe(false);
    expect(listed(sb)).not.toContain(running.path);
  });

  it("after a restart with a smaller pool, idle trees past the pool size are removed", async () => {
    const before = sb.manager({ poolSize: 2 });
    const a = await before.acquire("demo", undefined, "a");
    const b = await before.acquire("demo", undefined, "b");
    await before.release(a, { keep: false });
    await before.release(b, { keep: false });
    const after = sb.manager({ poolSize: 1 });
    await after.sweep();
    expect([existsSync(a.path), existsSync(b.path)].filter(Boolean)).toHaveLength(1);
  });

  it("reconcileAfterRestart (start-up): a running job's tree and idle ones go, with git's records; a kept one stays", async () => {
    const before = sb.manager();
    const running = await before.acquire("demo", undefined, "running");
    writeFileSync(path.join(running.path, "half-done.txt"), "x\n");
    const idle = await before.acquire("demo", undefined, "idle");
    const failed = await before.acquire("demo", undefined, "failed");
    await before.release(idle, { keep: false });
    await before.release(failed, { keep: true });
    const otherRepo = await before.acquire("other", undefined, "elsewhere");

    // A new process, for which "other" is no longer allowed: its tree is nobody's either.
    const after = sb.manager({ allowlist: ["demo"] });
    expect(await after.reconcileAfterRestart()).toBe(3);
    for (const wt of [running, idle, otherRepo]) {
      expect(existsSync(wt.path), wt.path).toBe(false);
      expect(existsSync(`${wt.path}.state.json`)).toBe(false);
    }
    expect(listed(sb)).not.toContain(running.path);
    expect(listed(sb)).not.toContain(idle.path);
    // The failed job's tree is kept for a human until its time is up.
    expect(existsSync(failed.path)).toBe(true);
    expect(existsSync(path.join(sb.worktreesDir, "demo", `${path.basename(failed.path)}.state.json`))).toBe(true);
    // And the pool starts empty: the next job gets a fresh tree.
    const next = await after.acquire("demo", undefined, "next");
    expect([running.path, idle.path]).not.toContain(next.path);
  });
});
