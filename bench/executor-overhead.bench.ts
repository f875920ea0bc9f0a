/**
 * What the executor adds to a CLI run: the same fake CLI (format-faithful claude JSON) spawned
 * directly vs run as a job through POST /execute (queue, worktree, parse, collect, compress, store).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../executor/src/config.ts";
import { createExecutor } from "../executor/src/executor.ts";
import { runProcess } from "../executor/src/process/run.ts";
import { FAKE_CLAUDE, makeRepo, SECRET } from "../executor/test/server/harness.ts";
import { percentile } from "./stats.ts";
import type { BenchReport } from "./types.ts";

const RUNS = 20;

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-exec-"));
  const cwd = makeRepo(path.join(dir, "repos"));
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    EXECUTOR_SECRET: SECRET,
    CALLBACK_SECRET: "callback-secret-0123456789",
    DATA_DIR: path.join(dir, "data"),
    REPOS_DIR: path.join(dir, "repos"),
    WORKTREES_DIR: path.join(dir, "wt"),
    CLAUDE_BIN: FAKE_CLAUDE,
    LOG_LEVEL: "error",
    // What the executor adds around a CLI; bench/executor-sandbox.bench.ts measures the sandbox's part.
    AGENT_SANDBOX: "off",
  });
  const ex = createExecutor(config, { probeClis: false, env: { ANTHROPIC_API_KEY: "k" } });
  const url = await ex.listen();
  // Time spent in the worktree manager on the job's path (acquire, collect), to report the overhead
  // with and without it, and each on its own. release runs after the result is stored, off the path.
  let wtMs = 0;
  const part = { acquire: 0, collect: 0 };
  for (const method of ["acquire", "collect"] as const) {
    const original = ex.worktrees[method].bind(ex.worktrees) as (...a: never[]) => Promise<unknown>;
    (ex.worktrees as unknown as Record<string, unknown>)[method] = async (...a: never[]) => {
      const t0 = performance.now();
      try {
        return await original(...a);
      } finally {
        const ms = performance.now() - t0;
        wtMs += ms;
        part[method] += ms;
      }
    };
  }
  const home = path.join(dir, "home");
  const direct = async (prompt: string) => {
    const t0 = performance.now();
    await runProcess({
      argv: [process.execPath, FAKE_CLAUDE, "-p", "--output-format", "json"],
      // As the executor passes it: on stdin.
      stdin: prompt,
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: path.join(home, "x", "y") },
      timeoutMs: 60_000,
    });
    return performance.now() - t0;
  };
  let n = 0;
  const viaExecutor = async (prompt: string) => {
    wtMs = 0;
    part.acquire = 0;
    part.collect = 0;
    const t0 = performance.now();
    const res = await fetch(`${url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-auth-token": SECRET },
      body: JSON.stringify({ jobKey: `b-${n++}`, profile: "sonnet", prompt, repo: "demo" }),
    });
    const view = (await res.json()) as { status: string };
    if (view.status !== "succeeded") throw new Error(`bench job ended ${view.status}`);
    const wall = performance.now() - t0;
    const withoutWorktree = wall - wtMs;
    // The tree's cleanup runs after the answer; let it end so it does not slow the next sample.
    await ex.runner.settle();
    return { wall, withoutWorktree, acquire: part.acquire, collect: part.collect };
  };
  try {
    const figures: BenchReport["figures"] = [];
    const summary: string[] = [];
    for (const [label, prompt] of [
      ["1 s job", "sleep:1000 write:x.txt"],
      ["instant job", "write:x.txt"],
    ] as const) {
      await direct(prompt);
      await viaExecutor(prompt);
      const d: number[] = [];
      const e: number[] = [];
      const ew: number[] = [];
      const acq: number[] = [];
      const col: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        d.push(await direct(prompt));
        const r = await viaExecutor(prompt);
        e.push(r.wall);
        ew.push(r.withoutWorktree);
        acq.push(r.acquire);
        col.push(r.collect);
      }
      const ms = (xs: number[]) => `${percentile(xs, 50).toFixed(1)} ms`;
      summary.push(
        `  ${label}, where the executor's time goes (p50): worktree acquire ${ms(acq)} (1 git checkout), the CLI ≈ direct ${ms(d)}, collect ${ms(col)} (add, then numstat beside commit), the rest (HTTP, queue, store, parse) ${(percentile(ew, 50) - percentile(d, 50)).toFixed(1)} ms`,
      );
      const ratio = percentile(e, 50) / percentile(d, 50);
      const overhead = percentile(ew, 50) - percentile(d, 50);
      figures.push(
        { name: `${label}: direct spawn p50`, value: percentile(d, 50), unit: "ms" },
        { name: `${label}: via executor p50`, value: percentile(e, 50), unit: "ms" },
        { name: `${label}: via executor p95`, value: percentile(e, 95), unit: "ms" },
        {
          name: `${label}: ratio executor / direct (p50)`,
          value: ratio,
          unit: "×",
          ...(label === "1 s job" ? { goal: "≤ 1.05", met: ratio <= 1.05 } : {}),
        },
        {
          name: `${label}: overhead excluding the worktree (p50)`,
          value: overhead,
          unit: "ms",
          ...(label === "instant job" ? { goal: "≤ 20 ms", met: overhead <= 20 } : {}),
        },
      );
    }
    return {
      title: "Executor overhead per job",
      runs: `${RUNS} jobs per kind, one at a time, after a warm-up`,
      figures,
      summary,
      notes: [
        "The fake CLI is a node script printing claude's real JSON; `direct` spawns it the same way the executor does (process group, the prompt on stdin).",
      ],
    };
  } finally {
    await ex.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
