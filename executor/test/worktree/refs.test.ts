/** Refs read from a repository's files agree with git, and anything unusual is left to git (null). */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readHead, readHeadCommit, readRef } from "../../src/worktree/refs.ts";
import { makeRepo } from "./helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function repo(): { dir: string; gitDir: string; git: (...a: string[]) => string } {
  const base = mkdtempSync(path.join(os.tmpdir(), "vault-refs-"));
  dirs.push(base);
  const dir = makeRepo(base);
  const git = (...a: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...a], { cwd: dir, encoding: "utf8" }).trim();
  return { dir, gitDir: path.join(dir, ".git"), git };
}

describe("refs from files", () => {
  it("HEAD's branch and commit, a loose ref, a packed one, and a detached HEAD, as git says", async () => {
    const { gitDir, git } = repo();
    expect(await readHead(gitDir)).toEqual({ ref: `refs/heads/${git("symbolic-ref", "--short", "HEAD")}` });
    expect(await readHeadCommit(path.join(gitDir, "worktrees", "x"))).toBeNull();
    const head = git("rev-parse", "HEAD");
    expect(await readRef(gitDir, `refs/heads/${git("symbolic-ref", "--short", "HEAD")}`)).toBe(head);
    git("branch", "packed-one");
    git("pack-refs", "--all");
    expect(await readRef(gitDir, "refs/heads/packed-one")).toBe(head);
    git("checkout", "-q", "--detach");
    expect(await readHead(gitDir)).toEqual({ id: head });
  });

  it("a worktree's HEAD commit through its own git directory", async () => {
    const { dir, git } = repo();
    const tree = path.join(path.dirname(dir), "tree");
    git("worktree", "add", "-q", "-b", "vault/j-1", tree);
    const treeGitDir = `${git("rev-parse", "--path-format=absolute", "--git-common-dir")}/worktrees/tree`;
    expect(await readHeadCommit(treeGitDir)).toBe(git("rev-parse", "HEAD"));
  });

  it("anything it cannot read plainly is null (git decides): a missing ref, junk, a name that climbs out", async () => {
    const { gitDir } = repo();
    expect(await readRef(gitDir, "refs/heads/nope")).toBeNull();
    writeFileSync(path.join(gitDir, "refs", "heads", "junk"), "not an id\n");
    expect(await readRef(gitDir, "refs/heads/junk")).toBeNull();
    expect(await readRef(gitDir, "refs/../../etc/passwd")).toBeNull();
    expect(await readRef(gitDir, "HEAD")).toBeNull();
    writeFileSync(path.join(gitDir, "HEAD"), "ref: ../../outside\n");
    expect(await readHead(gitDir)).toBeNull();
  });
});
