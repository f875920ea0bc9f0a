/**
 * Worktree ready on a generated 10k-file repo: the executor's manager (a pooled worktree reset and
 * cleaned between jobs) against a plain `git worktree add` per job.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { GitWorktreeManager } from "../executor/src/worktree/manager.ts";
import { percentile } from "./local-d1.ts";
import type { BenchReport } from "./types.ts";

const FILES = 10_000;
const RUNS = 20;

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-wt-"));
  try {
    const repo = path.join(dir, "repos", "big");
    for (let d = 0; d < 100; d++) {
      mkdirSync(path.join(repo, `d${d}`), { recursive: true });
      for (let f = 0; f < FILES / 100; f++) writeFileSync(path.join(repo, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`.repeat(20));
    }
    const git = (cwd: string, ...a: string[]) => execFileSync("git", ["-c", "user.name=b", "-c", "user.email=b@b", ...a], { cwd, stdio: "ignore" });
    git(repo, "init", "-q", "-b", "main");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "init");

    const plain: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const target = path.join(dir, "plain", `w${i}`);
      const t0 = performance.now();
      git(repo, "worktree", "add", "-q", "-B", `plain/${i}`, target, "main");
      plain.push(performance.now() - t0);
      git(repo, "worktree", "remove", "--force", target);
    }

    const m = new GitWorktreeManager({ reposDir: path.join(dir, "repos"), worktreesDir: path.join(dir, "wt"), allowlist: ["big"], keepFailedMs: 60_000, poolSize: 2 });
    // The first job pays for a checkout; later jobs reuse it. Each job writes a file, as agents do.
    const warm = await m.acquire("big", "main", "warm");
    await m.release(warm, { keep: false });
    const pooled: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const wt = await m.acquire("big", "main", `j${i}`);
      pooled.push(performance.now() - t0);
      writeFileSync(path.join(wt.path, "d0", "f0.txt"), `changed by job ${i}\n`);
      await m.release(wt, { keep: false });
    }
    const p50p = percentile(plain, 50);
    const p50m = percentile(pooled, 50);
    return {
      title: "Worktree ready (10k-file repo)",
      runs: `${RUNS} jobs each, one file changed per job`,
      figures: [
        { name: "git worktree add p50", value: p50p, unit: "ms" },
        { name: "git worktree add p95", value: percentile(plain, 95), unit: "ms" },
        { name: "pooled manager p50", value: p50m, unit: "ms" },
        { name: "pooled manager p95", value: percentile(pooled, 95), unit: "ms" },
        { name: "ratio pooled / worktree add (p50)", value: p50m / p50p, unit: "×", goal: "≤ 0.5", met: p50m / p50p <= 0.5 },
      ],
      notes: ["The pool keeps finished worktrees per repo (WORKTREE_POOL, default 2); a job then runs checkout -B + clean -fdx, which touch only files that differ."],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
