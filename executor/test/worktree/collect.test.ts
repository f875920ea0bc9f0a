import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DIFF_TRUNCATED_MARK } from "../../src/worktree/diff-parse.ts";
import { gitOut, type Sandbox, sandbox } from "./helpers.ts";

let sb: Sandbox;
const FILES = {
  "README.md": "# demo\n",
  "src/keep.txt": "one\ntwo\nthree\n",
  "src/old-name.txt": Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(""),
  "gone.txt": "bye\n",
};
beforeEach(() => (sb = sandbox(FILES)));
afterEach(() => sb.cleanup());

describe("collect", () => {
  it("lists added, modified, deleted, renamed and binary files with numstat, and commits them on the job branch", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", "main", "j1");
    writeFileSync(path.join(wt.path, "new.txt"), "a\nb\n");
    writeFileSync(path.join(wt.path, "README.md"), "# changed\n");
    writeFileSync(path.join(wt.path, "bin.dat"), Buffer.from([0, 1, 2, 0, 255]));
    rmSync(path.join(wt.path, "gone.txt"));
    renameSync(path.join(wt.path, "src/old-name.txt"), path.join(wt.path, "src/new-name.txt"));
    writeFileSync(path.join(wt.path, "we ird\tname ü.txt"), "x\n");
    const out = await m.collect(wt);
    expect(out.files).toEqual([
      { path: "README.md", added: 1, deleted: 1 },
      { path: "bin.dat", added: null, deleted: null },
      { path: "gone.txt", added: 0, deleted: 1 },
      { path: "new.txt", added: 2, deleted: 0 },
      { path: "src/new-name.txt", added: 0, deleted: 0 },
      { path: "we ird\tname ü.txt", added: 1, deleted: 0 },
    ]);
    expect(out.commit).toMatch(/^[0-9a-f]{40}$/);
    const repo = path.join(sb.reposDir, "demo");
    expect(gitOut(repo, "rev-parse", "vault/j1")).toBe(out.commit);
    expect(gitOut(repo, "rev-parse", "vault/j1^")).toBe(wt.baseCommit);
    expect(gitOut(repo, "log", "-1", "--format=%s|%an|%ae", "vault/j1")).toBe(
      "vault: vault/j1|vault-executor|vault-executor@localhost",
    );
    expect(gitOut(wt.path, "status", "--porcelain")).toBe("");
    expect(out.diffs).toEqual({});
  });

  it("reports nothing and makes no commit when the CLI changed nothing", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    const out = await m.collect(wt);
    expect(out).toEqual({ files: [], commit: null, diffs: {} });
    expect(gitOut(wt.path, "rev-parse", "HEAD")).toBe(wt.baseCommit);
  });

  it("ignores what .gitignore excludes", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(wt.path, ".gitignore"), "node_modules/\n");
    mkdirSync(path.join(wt.path, "node_modules"));
    writeFileSync(path.join(wt.path, "node_modules", "dep.js"), "x");
    expect((await m.collect(wt)).files.map((f) => f.path)).toEqual([".gitignore"]);
  });

  it("gives per-file unified diffs when asked, each capped", async () => {
    const m = sb.manager({ maxDiffBytes: 2048 });
    const wt = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(wt.path, "new.txt"), "a\nb\n");
    writeFileSync(path.join(wt.path, "big.txt"), "€ lots of text\n".repeat(1000));
    renameSync(path.join(wt.path, "src/old-name.txt"), path.join(wt.path, "src/new-name.txt"));
    writeFileSync(path.join(wt.path, "src/keep.txt"), "one\n2\nthree\n");
    const out = await m.collect(wt, { diffs: true });
    expect(Object.keys(out.diffs).sort()).toEqual(["big.txt", "new.txt", "src/keep.txt", "src/new-name.txt"]);
    expect(out.diffs["new.txt"]).toMatch(/^diff --git a\/new.txt b\/new.txt\n[\s\S]*\n\+a\n\+b\n$/);
    expect(out.diffs["src/keep.txt"]).toContain("-two\n+2\n");
    expect(out.diffs["src/new-name.txt"]).toContain("rename from src/old-name.txt");
    const big = out.diffs["big.txt"] as string;
    expect(big.endsWith(DIFF_TRUNCATED_MARK)).toBe(true);
    expect(Buffer.byteLength(big) - Buffer.byteLength(DIFF_TRUNCATED_MARK)).toBeLessThanOrEqual(2048);
    expect(big).not.toContain("\uFFFD");
  });

  it("still lists and reports the work when the CLI committed it itself", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(wt.path, "by-cli.txt"), "x\n");
    gitOut(wt.path, "add", "by-cli.txt");
    gitOut(wt.path, "commit", "-q", "-m", "cli's own commit");
    writeFileSync(path.join(wt.path, "after.txt"), "y\n");
    const out = await m.collect(wt);
    expect(out.files.map((f) => f.path)).toEqual(["after.txt", "by-cli.txt"]);
    expect(gitOut(wt.path, "log", "--format=%s", `${wt.baseCommit}..vault/j1`).split("\n")).toEqual([
      "vault: vault/j1",
      "cli's own commit",
    ]);
    expect(out.commit).toBe(gitOut(wt.path, "rev-parse", "vault/j1"));
  });

  it("lands the work on the job branch when the CLI switched branches", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    gitOut(wt.path, "checkout", "-q", "-b", "cli-branch");
    writeFileSync(path.join(wt.path, "x.txt"), "x\n");
    const out = await m.collect(wt);
    expect(out.files.map((f) => f.path)).toEqual(["x.txt"]);
    expect(gitOut(wt.path, "rev-parse", "vault/j1")).toBe(out.commit);
  });

  it("recovers from an index.lock left by a killed CLI", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    const gitDir = gitOut(wt.path, "rev-parse", "--absolute-git-dir");
    writeFileSync(path.join(gitDir, "index.lock"), "");
    writeFileSync(path.join(wt.path, "x.txt"), "x\n");
    // Without the cleanup git itself refuses (the stale lock is real):
    expect(() => gitOut(wt.path, "add", "-A")).toThrow(/index\.lock/);
    const out = await m.collect(wt);
    expect(out.files.map((f) => f.path)).toEqual(["x.txt"]);
  });

  it("runs no repository hooks (a plain git commit in the same repo does)", async () => {
    const repo = path.join(sb.reposDir, "demo");
    const canary = path.join(sb.dir, "hook-ran");
    const hook = path.join(repo, ".git", "hooks", "pre-commit");
    writeFileSync(hook, `#!/bin/sh\ntouch '${canary}'\nexit 1\n`);
    chmodSync(hook, 0o755);
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(wt.path, "x.txt"), "x\n");
    const out = await m.collect(wt);
    expect(out.commit).not.toBeNull();
    expect(existsSync(canary)).toBe(false);
    // The hook is live: the same commit without our settings is blocked by it.
    writeFileSync(path.join(wt.path, "y.txt"), "y\n");
    gitOut(wt.path, "add", "y.txt");
    expect(() => gitOut(wt.path, "commit", "-q", "-m", "by hand")).toThrow();
    expect(existsSync(canary)).toBe(true);
    expect(readFileSync(path.join(wt.path, "y.txt"), "utf8")).toBe("y\n");
  });
});
