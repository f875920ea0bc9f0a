/**
 * "Worktree ready" on a generated 10k-file repo: the executor's manager (a pooled tree, cleaned on
 * release, switched with one `checkout -f -B` on acquire) against a plain `git worktree add` per
 * job. The cleaning moved to release is reported too: it is off the job's critical path, not free.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GitWorktreeManager } from "../executor/src/worktree/manager.ts";
import { percentile } from "./stats.ts";
import type { BenchReport } from "./types.ts";

const FILES = 10_000;
const RUNS = 20;

function git(cwd: string, ...args: string[]): string {
  try {
    return execFileSync(
      "git",
      ["-c", "user.name=b", "-c", "user.email=b@b", "-c", "core.hooksPath=/dev/null", ...args],
      {
        cwd,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: os.tmpdir(),
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_CONFIG_NOSYSTEM: "1",
        },
      },
    ).trim();
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`git ${args.join(" ")} failed: ${stderr.trim()}`, { cause: err });
  }
}

function generateRepo(repo: string): void {
  for (let d = 0; d < 100; d++) {
    mkdirSync(path.join(repo, `d${d}`), { recursive: true });
    for (let f = 0; f < FILES / 100; f++)
      writeFileSync(path.join(repo, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(20));
  }
  git(repo, "init", "-q", "-b", "main");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "init");
}

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-wt-"));
  try {
    const repo = path.join(dir, "repos", "big");
    generateRepo(repo);
    const commit = git(repo, "rev-parse", "HEAD");

    const m = new GitWorktreeManager({
      reposDir: path.join(dir, "repos"),
      worktreesDir: path.join(dir, "wt"),
      allowlist: ["big"],
      keepFailedMs: 60_000,
      poolSize: 2,
    });
    // The first job pays for a full checkout, as a plain add does; later jobs reuse its tree.
    await m.release(await m.acquire("big", "main", "warm"), { keep: false });

    const pooled: number[] = [];
    const recycle: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      const wt = await m.acquire("big", "main", `j${i}`);
      pooled.push(performance.now() - t0);
      // A job edits a tracked file and leaves an untracked one, as agents do.
      writeFileSync(path.join(wt.path, "d0", "f0.txt"), `changed by job ${i}\n`);
      writeFileSync(path.join(wt.path, `scratch-${i}.log`), "x\n");
      t0 = performance.now();
      await m.release(wt, { keep: false });
      recycle.push(performance.now() - t0);
    }

    // Plain trees are removed only at the end: on this VM's ext4 (mounted with `discard`), writing
    // 10k files right after deleting 10k is 10-50× slower, which would flatter the pool.
    const plain: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      git(repo, "worktree", "add", "-q", "-B", `plain/${i}`, path.join(dir, "plain", `w${i}`), commit);
      plain.push(performance.now() - t0);
    }

    const ratio50 = percentile(pooled, 50) / percentile(plain, 50);
    const ratio95 = percentile(pooled, 95) / percentile(plain, 95);
    return {
      title: "Worktree ready (10k-file repo)",
      runs: `${RUNS} jobs each; each pooled job edits one file and adds one`,
      figures: [
        { name: "git worktree add p50", value: percentile(plain, 50), unit: "ms" },
        { name: "git worktree add p95", value: percentile(plain, 95), unit: "ms" },
        { name: "pooled manager acquire p50", value: percentile(pooled, 50), unit: "ms" },
        { name: "pooled manager acquire p95", value: percentile(pooled, 95), unit: "ms" },
        { name: "ratio pooled / worktree add (p50)", value: ratio50, unit: "×", goal: "≤ 0.5", met: ratio50 <= 0.5 },
        { name: "ratio pooled / worktree add (p95)", value: ratio95, unit: "×", goal: "≤ 0.5", met: ratio95 <= 0.5 },
        { name: "release to pool (clean, off the critical path) p50", value: percentile(recycle, 50), unit: "ms" },
      ],
      notes: [
        "Acquire = rev-parse of the ref + `checkout -q -f -B vault/<job> <commit>` in a pooled tree (only differing files are written).",
        "Release = `checkout -f --detach` + `clean -ffdx` + state file, done after the result is sent (WORKTREE_POOL trees per repo, default 2).",
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
