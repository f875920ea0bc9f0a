import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UnknownWorktreeError } from "../../src/worktree/manager.ts";
import { gitOut, type Sandbox, sandbox } from "./helpers.ts";

let sb: Sandbox;
beforeEach(() => (sb = sandbox()));
afterEach(() => sb.cleanup());

const branches = (repo: string) =>
  gitOut(path.join(sb.reposDir, repo), "branch", "--list", "vault/*", "--format=%(refname:short)");

describe("pool", () => {
  it("recycles a tree clean: what job 1 left (tracked, untracked, ignored, a nested repo) is gone for job 2", async () => {
    const m = sb.manager();
    const a = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(a.path, "README.md"), "edited by job 1\n");
    writeFileSync(path.join(a.path, "left-over.txt"), "x");
    writeFileSync(path.join(a.path, ".gitignore"), "node_modules/\n");
    mkdirSync(path.join(a.path, "node_modules"));
    writeFileSync(path.join(a.path, "node_modules", "junk"), "x");
    const first = await m.collect(a);
    // Untracked again after the commit: a file made after collect, and a nested repository.
    writeFileSync(path.join(a.path, "late.txt"), "x");
    mkdirSync(path.join(a.path, "nested"));
    gitOut(path.join(a.path, "nested"), "init", "-q");
    await m.release(a, { keep: false });

    const b = await m.acquire("demo", undefined, "j2");
    expect(b.path).toBe(a.path);
    expect(readdirSync(b.path).sort()).toEqual([".git", "README.md"]);
    expect(gitOut(b.path, "show", "HEAD:README.md")).toBe("# demo");
    expect(gitOut(b.path, "status", "--porcelain", "--ignored")).toBe("");
    expect(gitOut(b.path, "symbolic-ref", "HEAD")).toBe("refs/heads/vault/j2");
    expect(b.baseCommit).not.toBe(first.commit);
    // Job 1's branch keeps its commit.
    expect(gitOut(path.join(sb.reposDir, "demo"), "rev-parse", "vault/j1")).toBe(first.commit);
    expect((await m.collect(b)).files).toEqual([]);
  });

  it("with poolSize 0 a released tree is removed, not pooled", async () => {
    const m = sb.manager({ poolSize: 0 });
    const a = await m.acquire("demo", undefined, "j1");
    await m.release(a, { keep: false });
    expect(existsSync(a.path)).toBe(false);
    expect(gitOut(path.join(sb.reposDir, "demo"), "worktree", "list", "--porcelain")).not.toContain(a.path);
    const b = await m.acquire("demo", undefined, "j2");
    expect(b.path).not.toBe(a.path);
  });

  it("keeps branches with a commit and deletes the ones without, whether pooled or removed", async () => {
    for (const poolSize of [0, 2]) {
      const m = sb.manager({ poolSize });
      const changed = await m.acquire("demo", undefined, `changed-${poolSize}`);
      writeFileSync(path.join(changed.path, "x.txt"), "x\n");
      await m.collect(changed);
      const idle = await m.acquire("demo", undefined, `idle-${poolSize}`);
      await m.collect(idle);
      await m.release(changed, { keep: false });
      await m.release(idle, { keep: false });
    }
    expect(branches("demo").split("\n").sort()).toEqual(["vault/changed-0", "vault/changed-2"]);
  });

  it("gives concurrent acquires on one repo separate trees and branches", async () => {
    const m = sb.manager();
    // Two pooled trees first, so the batch mixes reuse and fresh creation.
    const warm = await Promise.all([m.acquire("demo", undefined, "w1"), m.acquire("demo", undefined, "w2")]);
    await Promise.all(warm.map((w) => m.release(w, { keep: false })));

    const wts = await Promise.all(Array.from({ length: 6 }, (_, i) => m.acquire("demo", undefined, `c${i}`)));
    expect(new Set(wts.map((w) => w.path)).size).toBe(6);
    expect(wts.filter((w) => warm.some((x) => x.path === w.path))).toHaveLength(2);
    await Promise.all(wts.map((w, i) => writeFileSync(path.join(w.path, `f${i}.txt`), `${i}\n`)));
    const outs = await Promise.all(wts.map((w) => m.collect(w)));
    for (const [i, o] of outs.entries()) expect(o.files.map((f) => f.path)).toEqual([`f${i}.txt`]);
    await Promise.all(wts.map((w) => m.release(w, { keep: false })));
    // The pool holds two; the other four were removed, git's records with them.
    expect(readdirSync(path.join(sb.worktreesDir, "demo")).filter((n) => !n.endsWith(".json"))).toHaveLength(2);
    const listed = gitOut(path.join(sb.reposDir, "demo"), "worktree", "list", "--porcelain")
      .split("\n")
      .filter((l) => l.startsWith("worktree "));
    expect(listed).toHaveLength(1 + 2); // the main tree and the two pooled
  });

  it("refuses to release a tree twice (it would enter the pool twice and be shared)", async () => {
    const m = sb.manager();
    const a = await m.acquire("demo", undefined, "j1");
    await m.release(a, { keep: false });
    await expect(m.release(a, { keep: false })).rejects.toBeInstanceOf(UnknownWorktreeError);
    const [b, c] = await Promise.all([m.acquire("demo", undefined, "j2"), m.acquire("demo", undefined, "j3")]);
    expect(b.path).not.toBe(c.path);
  });
});
