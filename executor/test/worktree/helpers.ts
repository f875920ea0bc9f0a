import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GitWorktreeManager, type WorktreeOptions } from "../../src/worktree/manager.ts";

/** git for test setup and inspection, with the operator's global config out of the way. */
export function gitOut(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      HOME: os.tmpdir(),
    },
  }).trim();
}

/** A repo at reposDir/name on branch main with `files` committed (default: a README). */
export function makeRepo(
  reposDir: string,
  name = "demo",
  files: Record<string, string> = { "README.md": "# demo\n" },
): string {
  const dir = path.join(reposDir, name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), body);
  }
  gitOut(dir, "init", "-q", "-b", "main");
  gitOut(dir, "add", "-A");
  gitOut(dir, "commit", "-q", "-m", "init");
  return dir;
}

export interface Sandbox {
  dir: string;
  reposDir: string;
  worktreesDir: string;
  clock: { now: number };
  manager(over?: Partial<WorktreeOptions>): GitWorktreeManager;
  cleanup(): void;
}

/** A temp dir with repos/demo and repos/other, and a manager factory on a settable clock. */
export function sandbox(files?: Record<string, string>): Sandbox {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-wt-"));
  const reposDir = path.join(dir, "repos");
  const worktreesDir = path.join(dir, "wt");
  makeRepo(reposDir, "demo", files);
  makeRepo(reposDir, "other");
  const clock = { now: 1_000_000 };
  return {
    dir,
    reposDir,
    worktreesDir,
    clock,
    manager: (over = {}) =>
      new GitWorktreeManager({
        reposDir,
        worktreesDir,
        allowlist: ["demo", "other"],
        keepFailedMs: 60_000,
        poolSize: 2,
        now: () => clock.now,
        ...over,
      }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
