import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitWorktreeManager, parseNumstat, RefNotFoundError, RepoNotAllowedError } from "../../src/worktree/manager.ts";
import { makeRepo } from "../server/harness.ts";

let dir: string;
let now = 1_000_000;
const manager = (over: Partial<ConstructorParameters<typeof GitWorktreeManager>[0]> = {}) =>
  new GitWorktreeManager({ reposDir: path.join(dir, "repos"), worktreesDir: path.join(dir, "wt"), allowlist: ["demo", "other"], keepFailedMs: 60_000, poolSize: 2, now: () => now, ...over });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "vault-wt-"));
  makeRepo(path.join(dir, "repos"), "demo");
  makeRepo(path.join(dir, "repos"), "other");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("worktrees", () => {
  it("refuses traversal, absolute paths, symlinks out, unknown and non-allowlisted repos; creates nothing", async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), "vault-outside-"));
    makeRepo(outside, "evil");
    symlinkSync(path.join(outside, "evil"), path.join(dir, "repos", "link"));
    const m = manager({ allowlist: [] });
    for (const repo of ["../demo", "/etc", "demo/..", "..", "link", "missing", ".git"]) {
      await expect(m.acquire(repo, undefined, "j1"), repo).rejects.toBeInstanceOf(RepoNotAllowedError);
    }
    await expect(manager().acquire("link", undefined, "j1")).rejects.toBeInstanceOf(RepoNotAllowedError);
    await expect(manager().acquire("demo", "no-such-branch", "j1")).rejects.toBeInstanceOf(RefNotFoundError);
    await expect(manager().acquire("demo", "--upload-pack=x", "j1")).rejects.toBeInstanceOf(RefNotFoundError);
    expect(existsSync(path.join(dir, "wt"))).toBe(false);
    rmSync(outside, { recursive: true, force: true });
  });

  it("lists changes with numstat, commits them on the job's branch", async () => {
    const m = manager();
    const wt = await m.acquire("demo", "main", "j1");
    expect(wt.branch).toBe("vault/j1");
    writeFileSync(path.join(wt.path, "new.txt"), "a\nb\n");
    writeFileSync(path.join(wt.path, "README.md"), "# changed\n");
    writeFileSync(path.join(wt.path, "bin.dat"), Buffer.from([0, 1, 2, 0, 255]));
    const out = await m.collect(wt, { diffs: true });
    expect(out.files).toEqual([
      { path: "README.md", added: 1, deleted: 1 },
      { path: "bin.dat", added: null, deleted: null },
      { path: "new.txt", added: 2, deleted: 0 },
    ]);
    expect(out.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(out.diffs["new.txt"]).toContain("+a");
    const log = execFileSync("git", ["log", "--format=%s", "-1", "vault/j1"], { cwd: path.join(dir, "repos", "demo"), encoding: "utf8" });
    expect(log.trim()).toBe("vault: vault/j1");
    await m.release(wt, { keep: false });
  });

  it("recycles a worktree clean: what job 1 left is gone for job 2, and job 1's branch keeps its commit", async () => {
    const m = manager();
    const a = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(a.path, "left-over.txt"), "x");
    mkdirSync(path.join(a.path, "node_modules"));
    writeFileSync(path.join(a.path, "node_modules", "junk"), "x");
    const first = await m.collect(a);
    await m.release(a, { keep: false });
    const b = await m.acquire("demo", undefined, "j2");
    expect(b.path).toBe(a.path);
    expect(readdirSync(b.path).sort()).toEqual([".git", "README.md"]);
    const tip = execFileSync("git", ["rev-parse", "vault/j1"], { cwd: path.join(dir, "repos", "demo"), encoding: "utf8" }).trim();
    expect(tip).toBe(first.commit);
    expect((await m.collect(b)).files).toEqual([]);
  });

  it("concurrent acquires on one repo get separate worktrees", async () => {
    const m = manager();
    const wts = await Promise.all(Array.from({ length: 6 }, (_, i) => m.acquire("demo", undefined, `c${i}`)));
    expect(new Set(wts.map((w) => w.path)).size).toBe(6);
    await Promise.all(wts.map((w) => m.release(w, { keep: false })));
  });

  it("keeps a failed worktree until the TTL, then sweeps it", async () => {
    const m = manager();
    const wt = await m.acquire("demo", undefined, "bad");
    await m.release(wt, { keep: true });
    expect(existsSync(wt.path)).toBe(true);
    expect(await m.sweep()).toBe(0);
    now += 60_001;
    expect(await m.sweep()).toBe(1);
    expect(existsSync(wt.path)).toBe(false);
  });

  it("parses numstat with tabs in names and binary markers", () => {
    expect(parseNumstat("3\t1\ta\tb.txt\0-\t-\timg.png\0")).toEqual([
      { path: "a\tb.txt", added: 3, deleted: 1 },
      { path: "img.png", added: null, deleted: null },
    ]);
  });
});
