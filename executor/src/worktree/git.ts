/**
 * git, run the one way the executor allows: an argv through runProcess (no shell, own process group,
 * timeout with a group kill), a minimal environment, and config overrides that keep repository
 * config from running programs on our behalf.
 */
import os from "node:os";
import { runProcess } from "../process/run.ts";
import { GitError } from "./errors.ts";

/**
 * Prepended to every command. Hooks and fsmonitor would run a program the repository's config chose
 * (agents cannot write it, see treeArgs; an operator's clone still may); auto-gc would too, and
 * daemonizes with setsid(), escaping the group kill; signing needs a key and an agent.
 * core.quotePath=false keeps UTF-8 paths readable.
 */
const GIT_SAFETY_CONFIG: readonly string[] = [
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "gc.auto=0",
  "-c",
  "maintenance.auto=false",
  "-c",
  "commit.gpgSign=false",
  "-c",
  "advice.detachedHead=false",
  "-c",
  "core.quotePath=false",
];

/**
 * Nothing inherited: a GIT_DIR or GIT_INDEX_FILE in the executor's own environment would aim every
 * command at another repository, and the operator's ~/.gitconfig (aliases, autocrlf, includes,
 * diff.noprefix) must not change what the executor does, hence no global or system config.
 */
function gitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: os.tmpdir(),
    LANG: "C",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_PAGER: "cat",
  };
}

export interface GitOptions {
  /** Default 120 s: the first checkout of a large repository is slow. */
  timeoutMs?: number;
  /** Default 64 MiB; output past it fails the command rather than being parsed cut. */
  maxOutputBytes?: number;
  /** Exit codes that count as success (e.g. [0, 1] for `diff --quiet`). Default [0]. */
  okCodes?: readonly number[];
  /** Return output cut at maxOutputBytes (flagged `truncated`) instead of failing. */
  allowTruncated?: boolean;
  /** Primary group of the git process (files it writes into a slot's worktree carry it). */
  gid?: number;
}

/**
 * Global options for a command on a job's worktree: its git directory named explicitly (never found
 * through the tree's `.git`, which the agent may have rewritten to point at a repository it made,
 * with its own config), and the tree marked safe by path only.
 */
export function treeArgs(gitDir: string, workTree: string): string[] {
  return ["-c", `safe.directory=${workTree}`, `--git-dir=${gitDir}`, `--work-tree=${workTree}`];
}

export interface GitResult {
  stdout: string;
  exitCode: number;
  truncated: boolean;
}

/** Runs `git <args>` in `cwd` and returns stdout; anything else throws a GitError carrying stderr. */
export async function git(cwd: string, args: readonly string[], opts: GitOptions = {}): Promise<string> {
  return (await gitStatus(cwd, args, opts)).stdout;
}

/** Like `git`, but also returns which of `okCodes` git exited with. */
export async function gitStatus(cwd: string, args: readonly string[], opts: GitOptions = {}): Promise<GitResult> {
  const argv = ["git", ...GIT_SAFETY_CONFIG, ...args];
  const out = await runProcess({
    argv,
    cwd,
    env: gitEnv(),
    timeoutMs: opts.timeoutMs ?? 120_000,
    killGraceMs: 2_000,
    maxOutputBytes: opts.maxOutputBytes ?? 64 * 1024 * 1024,
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  const what = `git ${args[0] ?? ""}`;
  if (out.spawnError !== null) throw new GitError(`${what}: could not start git`, out.spawnError, argv);
  if (out.timedOut) throw new GitError(`${what}: timed out after ${out.durationMs} ms`, out.stderr, argv);
  if (out.stdoutTruncated && !opts.allowTruncated)
    throw new GitError(`${what}: output over the limit`, out.stderr, argv);
  if (out.exitCode === null || !(opts.okCodes ?? [0]).includes(out.exitCode)) {
    const firstLine = out.stderr.trim().split("\n")[0] ?? "";
    throw new GitError(`${what} failed (${out.exitCode ?? out.signal}): ${firstLine}`, out.stderr, argv);
  }
  return { stdout: out.stdout, exitCode: out.exitCode, truncated: out.stdoutTruncated };
}

/** git on a job's tree, through its own git directory (treeArgs). */
export function treeGit(
  wt: { path: string; gitDir: string },
  args: readonly string[],
  opts: GitOptions = {},
): Promise<GitResult> {
  return gitStatus(wt.path, [...treeArgs(wt.gitDir, wt.path), ...args], opts);
}
