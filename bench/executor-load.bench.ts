/**
 * 200 jobs at MAX_EXECUTORS=2 against the executor as a real process: lost jobs, peak concurrency,
 * peak RSS. The process is the deployed artifact (the esbuild bundle, built here exactly as
 * `npm run build -w executor` does): running src/main.ts instead adds Node's TypeScript stripper,
 * about 40 MB of RSS that production never carries.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { FAKE_CLAUDE, makeRepo, SECRET } from "../executor/test/server/harness.ts";
import type { BenchReport } from "./types.ts";

const JOBS = 200;
const EXECUTOR_DIR = path.resolve(import.meta.dirname, "..", "executor");

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Live CLIs of this run: the fake's processes whose working directory is one of our worktrees. */
function liveFakes(dir: string): number {
  let n = 0;
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readlinkSync(`/proc/${e}/cwd`).startsWith(dir)) continue;
      if (
        readFileSync(`/proc/${e}/cmdline`, "utf8").includes("fake-claude.mjs") &&
        !readFileSync(`/proc/${e}/stat`, "utf8")
          .replace(/^.*\) /, "")
          .startsWith("Z")
      )
        n += 1;
    } catch {
      // gone
    }
  }
  return n;
}

async function bundle(outfile: string): Promise<void> {
  await build({
    entryPoints: [path.join(EXECUTOR_DIR, "src", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outfile,
    banner: { js: "import{createRequire}from'node:module';const require=createRequire(import.meta.url);" },
    logLevel: "silent",
  });
}

export async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "vault-bench-load-"));
  makeRepo(path.join(dir, "repos"));
  const server = path.join(dir, "server.js");
  await bundle(server);
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", server], {
    env: {
      ...process.env,
      // The bundle finds its config files relative to itself, and this one lives in a temp dir.
      PROFILES_FILE: path.join(EXECUTOR_DIR, "config", "profiles.json"),
      PRICES_FILE: path.join(EXECUTOR_DIR, "config", "prices.json"),
      HOST: "127.0.0.1",
      PORT: "0",
      EXECUTOR_SECRET: SECRET,
      CALLBACK_SECRET: "callback-secret-0123456789",
      DATA_DIR: path.join(dir, "data"),
      REPOS_DIR: path.join(dir, "repos"),
      WORKTREES_DIR: path.join(dir, "wt"),
      CLAUDE_BIN: FAKE_CLAUDE,
      ANTHROPIC_API_KEY: "k",
      // Measures the queue, not the sandbox (bench/executor-sandbox.bench.ts does that).
      AGENT_SANDBOX: "off",
      MAX_EXECUTORS: "2",
      MAX_QUEUE: String(JOBS),
      LOG_LEVEL: "error",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const pid = child.pid as number;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /"event":"listening","url":"([^"]+)"/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`executor exited ${code}: ${out}`)));
    });
    const idleRss = rssMb(pid);
    let peakRss = idleRss;
    let peakCli = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMb(pid));
      peakCli = Math.max(peakCli, liveFakes(dir));
    }, 25);
    const headers = { "content-type": "application/json", "x-auth-token": SECRET };
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        const res = await fetch(`${url}/jobs`, {
          method: "POST",
          headers,
          body: JSON.stringify({ jobKey: `load-${i}`, profile: "sonnet", prompt: `write:f${i}.txt`, repo: "demo" }),
        });
        return res.status === 202 ? ((await res.json()) as { jobId: string }).jobId : null;
      }),
    );
    const status = async (id: string) =>
      ((await (await fetch(`${url}/jobs/${id}`, { headers })).json()) as { status: string }).status;
    const done = new Map<string, string>();
    const deadline = Date.now() + 10 * 60_000;
    while (done.size < ids.filter(Boolean).length && Date.now() < deadline) {
      for (const id of ids) {
        if (!id || done.has(id)) continue;
        const s = await status(id);
        if (s === "succeeded" || s === "failed" || s === "interrupted") done.set(id, s);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const succeeded = [...done.values()].filter((s) => s === "succeeded").length;
    const lost = JOBS - succeeded;
    return {
      title: "Executor under load",
      runs: `${JOBS} jobs submitted at once, MAX_EXECUTORS=2, MAX_QUEUE=${JOBS}, instant fake CLI, the bundled dist/server.js`,
      figures: [
        { name: "jobs lost (not succeeded)", value: lost, unit: "jobs", goal: "0", met: lost === 0 },
        { name: "peak CLIs alive", value: peakCli, unit: "processes", goal: "2", met: peakCli === 2 },
        { name: "peak executor RSS", value: peakRss, unit: "MB", goal: "≤ 150 MB", met: peakRss <= 150 },
        { name: "executor RSS when idle, before the jobs", value: idleRss, unit: "MB" },
        { name: "throughput", value: JOBS / seconds, unit: "jobs/s" },
      ],
    };
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}
