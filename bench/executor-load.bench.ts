/** 200 jobs at MAX_EXECUTORS=2 against the executor as a real process: lost jobs, peak concurrency, peak RSS. */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FAKE_CLAUDE, makeRepo, SECRET } from "../executor/test/server/harness.ts";
import type { BenchReport } from "./types.ts";

const JOBS = 200;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Live CLIs of this run: the fake's processes whose working directory is one of our worktrees. */
function liveFakes(dir: string): number {
  let n = 0;
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readlinkSync(`/proc/${e}/cwd`).startsWith(dir)) continue;
      if (readFileSync(`/proc/${e}/cmdline`, "utf8").includes("fake-claude.mjs") && !readFileSync(`/proc/${e}/stat`, "utf8").replace(/^.*\) /, "").startsWith("Z")) n += 1;
    } catch {
      // gone
    }
  }
  return n;
}

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-load-"));
  makeRepo(path.join(dir, "repos"));
  const port = 41000 + Math.floor(Math.random() * 1000);
  const child = spawn(process.execPath, [path.resolve(import.meta.dirname, "..", "executor", "src", "main.ts")], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), EXECUTOR_SECRET: SECRET, CALLBACK_SECRET: "callback-secret-0123456789", DATA_DIR: path.join(dir, "data"), REPOS_DIR: path.join(dir, "repos"), WORKTREES_DIR: path.join(dir, "wt"), CLAUDE_BIN: FAKE_CLAUDE, ANTHROPIC_API_KEY: "k", MAX_EXECUTORS: "2", MAX_QUEUE: String(JOBS), LOG_LEVEL: "error" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (c: Buffer) => c.toString().includes("listening") && resolve());
      child.on("exit", (code) => reject(new Error(`executor exited ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    let peakRss = rssMb(child.pid as number);
    let peakCli = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(child.pid as number));
      peakCli = Math.max(peakCli, liveFakes(dir));
    }, 25);
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const res = await fetch(`${url}/jobs`, { method: "POST", headers: { "content-type": "application/json", "x-auth-token": SECRET }, body: JSON.stringify({ jobKey: `load-${i}`, profile: "sonnet", prompt: `write:f${i}.txt`, repo: "demo" }) });
        return res.status === 202 ? ((await res.json()) as { jobId: string }).jobId : null;
      }),
    );
    const done = new Set<string>();
    const deadline = Date.now() + 10 * 60_000;
    while (done.size < ids.filter(Boolean).length && Date.now() < deadline) {
      for (const id of ids) {
        if (!id || done.has(id)) continue;
        const v = (await (await fetch(`${url}/jobs/${id}`, { headers: { "x-auth-token": SECRET } })).json()) as { status: string };
        if (v.status === "succeeded" || v.status === "failed" || v.status === "interrupted") done.add(id);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    let succeeded = 0;
    for (const id of ids) if (id && ((await (await fetch(`${url}/jobs/${id}`, { headers: { "x-auth-token": SECRET } })).json()) as { status: string }).status === "succeeded") succeeded += 1;
    const lost = JOBS - succeeded;
    return {
      title: "Executor under load",
      runs: `${JOBS} jobs submitted at once, MAX_EXECUTORS=2, MAX_QUEUE=${JOBS}, instant fake CLI`,
      figures: [
        { name: "jobs lost (not succeeded)", value: lost, unit: "jobs", goal: "0", met: lost === 0 },
        { name: "peak CLIs alive", value: peakCli, unit: "processes", goal: "2", met: peakCli === 2 },
        { name: "peak executor RSS", value: peakRss, unit: "MB", goal: "≤ 150 MB", met: peakRss <= 150 },
        { name: "throughput", value: JOBS / seconds, unit: "jobs/s" },
      ],
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}
