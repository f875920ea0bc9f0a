/**
 * An agent owns its worktree, including the `.git` file that tells git where the tree's repository
 * is. One that points it at a repository it made, whose config runs programs (an fsmonitor, a clean
 * filter its .gitattributes selects), gets nothing from the executor: every executor git command
 * names the tree's real git directory. The control shows the same planted files do run a program
 * for a git that finds its repository through `.git`.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gitOut, type Sandbox, sandbox } from "./helpers.ts";

let sb: Sandbox;
beforeEach(() => (sb = sandbox()));
afterEach(() => sb.cleanup());

/** A repository of the agent's, whose config runs `marker`-touching programs, and the tree aimed at it. */
function plant(tree: string): { fsmonitor: string; filter: string } {
  const evil = path.join(sb.dir, "evil");
  gitOut(sb.dir, "init", "-q", evil);
  const fsmonitor = path.join(sb.dir, "fsmonitor-ran");
  const filter = path.join(sb.dir, "filter-ran");
  const hook = path.join(sb.dir, "fsmonitor.sh");
  writeFileSync(hook, `#!/bin/sh\ntouch ${fsmonitor}\n`);
  chmodSync(hook, 0o755);
  gitOut(evil, "config", "core.fsmonitor", hook);
  gitOut(evil, "config", "filter.evil.clean", `sh -c 'touch ${filter}; cat'`);
  writeFileSync(path.join(tree, ".gitattributes"), "* filter=evil\n");
  writeFileSync(path.join(tree, ".git"), `gitdir: ${path.join(evil, ".git")}\n`);
  return { fsmonitor, filter };
}

describe("the executor's git never uses the git directory a tree's .git points to", () => {
  it("collect ignores a planted .git: no program of its config runs, the work lands on vault/<job>", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(wt.path, "a.txt"), "work\n");
    const planted = plant(wt.path);
    const out = await m.collect(wt);
    expect(existsSync(planted.fsmonitor)).toBe(false);
    expect(existsSync(planted.filter)).toBe(false);
    expect(out.files.map((f) => f.path).sort()).toEqual([".gitattributes", "a.txt"]);
    const repo = path.join(sb.reposDir, "demo");
    expect(gitOut(repo, "rev-parse", "vault/j1")).toBe(out.commit);
    expect(gitOut(repo, "show", "vault/j1:a.txt")).toBe("work");
    // Recycling puts git's own .git file back, so the pooled tree is a linked worktree again.
    await m.release(wt, { keep: false });
    expect(readFileSync(path.join(wt.path, ".git"), "utf8")).toBe(`gitdir: ${wt.gitDir}\n`);
    expect(existsSync(planted.filter)).toBe(false);
  });

  it("control: a git that follows the planted .git runs the agent's filter", async () => {
    const m = sb.manager();
    const wt = await m.acquire("demo", undefined, "j1");
    writeFileSync(path.join(wt.path, "a.txt"), "work\n");
    const planted = plant(wt.path);
    execFileSync("git", ["add", "-A"], {
      cwd: wt.path,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: os.tmpdir(),
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
      },
      stdio: "ignore",
    });
    expect(existsSync(planted.filter)).toBe(true);
  });
});
