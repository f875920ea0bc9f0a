/**
 * What the agent sandbox adds to a job: the same instant fake CLI run as jobs through POST /execute
 * on two executors side by side, one with AGENT_SANDBOX=off and one with it on (identity lease, home
 * and tree handed to the slot's group, setpriv, reaping what the identity left), alternating job by
 * job so that drift hits both. Needs root, to create the identities (removed after).
 */
import { randomUUID } from "node:crypto";
import { chmodSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../executor/src/config.ts";
import { createExecutor, type Executor } from "../executor/src/executor.ts";
import { runProcess } from "../executor/src/process/run.ts";
import { createHome, handOver, removeHome } from "../executor/src/sandbox/homes.ts";
import { AgentSandbox } from "../executor/src/sandbox/sandbox.ts";
import { ESCAPE_CLI, makeIdentities } from "../executor/test/sandbox/helpers.ts";
import { type Harness, harness, SECRET } from "../executor/test/server/harness.ts";
import { percentile } from "./stats.ts";
import type { BenchReport } from "./types.ts";

const RUNS = 40;

async function start(h: Harness): Promise<{ ex: Executor; url: string }> {
  const ex = createExecutor(loadConfig(h.env), { probeClis: false, env: { ANTHROPIC_API_KEY: "k" } });
  return { ex, url: await ex.listen() };
}

/** The sandbox's own steps, each timed alone: exec through setpriv, the home hand-over, the reap. */
async function steps(config: ReturnType<typeof loadConfig>): Promise<{ setpriv: number; home: number; reap: number }> {
  const sandbox = AgentSandbox.create(config, runProcess);
  const lease = await sandbox.lease();
  const opts = { argv: ["/bin/true"], cwd: "/", env: { PATH: "/usr/bin:/bin" }, timeoutMs: 10_000 };
  const direct: number[] = [];
  const wrapped: number[] = [];
  const home: number[] = [];
  const reap: number[] = [];
  const time = async (into: number[], fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    into.push(performance.now() - t0);
  };
  try {
    for (let i = 0; i < RUNS; i++) {
      await time(direct, () => runProcess(opts));
      await time(wrapped, () => lease.run(opts));
      let dir = "";
      await time(home, async () => {
        dir = await createHome(sandbox.homesDir, `bench-${randomUUID()}`, lease);
        await handOver(dir, lease);
      });
      await removeHome(dir, lease);
      await time(reap, () => lease.reap());
    }
  } finally {
    lease.release();
  }
  return {
    setpriv: percentile(wrapped, 50) - percentile(direct, 50),
    home: percentile(home, 50),
    reap: percentile(reap, 50),
  };
}

export async function run(): Promise<BenchReport> {
  if (process.geteuid?.() !== 0) throw new Error("the sandbox bench needs root (it creates the agent identities)");
  const ids = makeIdentities(2);
  const off = harness({ CLAUDE_BIN: ESCAPE_CLI, LOG_LEVEL: "error" });
  const on = harness({
    CLAUDE_BIN: ESCAPE_CLI,
    LOG_LEVEL: "error",
    AGENT_SANDBOX: "on",
    AGENT_USER_PREFIX: ids.prefix,
    MAX_EXECUTORS: "2",
  });
  chmodSync(on.dir, 0o711);
  chmodSync(path.join(on.dir, "repos"), 0o700);
  const executors = { off: await start(off), on: await start(on) };
  let n = 0;
  const job = async (which: "off" | "on") => {
    const { ex, url } = executors[which];
    const t0 = performance.now();
    const res = await fetch(`${url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-auth-token": SECRET },
      body: JSON.stringify({ jobKey: `b-${n++}`, profile: "sonnet", prompt: "write:x.txt", repo: "demo" }),
    });
    const view = (await res.json()) as { status: string };
    if (view.status !== "succeeded") throw new Error(`bench job (${which}) ended ${view.status}`);
    const ms = performance.now() - t0;
    // Cleanup runs after the answer: let it end so it does not slow the next sample.
    await ex.runner.settle();
    return ms;
  };
  try {
    for (let i = 0; i < 3; i++) for (const which of ["off", "on"] as const) await job(which);
    const t = { off: [] as number[], on: [] as number[] };
    const paired: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const);
      for (const which of order) t[which].push(await job(which));
      paired.push((t.on.at(-1) as number) - (t.off.at(-1) as number));
    }
    // Each pair ran back to back, so the machine's load hits both: the median of the differences.
    const overhead = percentile(paired, 50);
    const parts = await steps(loadConfig(on.env));
    return {
      title: "Agent sandbox overhead per job",
      runs: `${RUNS} instant jobs each, sandbox off and on alternating, after a warm-up`,
      figures: [
        { name: "sandbox off: job p50", value: percentile(t.off, 50), unit: "ms" },
        { name: "sandbox off: job p95", value: percentile(t.off, 95), unit: "ms" },
        { name: "sandbox on: job p50", value: percentile(t.on, 50), unit: "ms" },
        { name: "sandbox on: job p95", value: percentile(t.on, 95), unit: "ms" },
        {
          name: "overhead of the sandbox per job (median of paired on − off)",
          value: overhead,
          unit: "ms",
          goal: "< 10 ms",
          met: overhead < 10,
        },
        { name: "part: setpriv in front of a program (p50)", value: parts.setpriv, unit: "ms" },
        { name: "part: per-run home made and handed over (p50)", value: parts.home, unit: "ms" },
        { name: "part: reap, kill -KILL -1 as the identity (p50, after the answer)", value: parts.reap, unit: "ms" },
      ],
      notes: [
        "Both executors run in one process on the same repo layout; the fake CLI is the escape-cli fixture (claude's JSON), the job writes one file. On the sandbox's critical path: the lease, home and tree handed to the slot's group (chown/chmod), setpriv's exec in front of the CLI, then the CLI's run; `kill -KILL -1` as the identity and the tree's cleanup run after the answer. The parts are timed alone on a lease of the same sandbox.",
      ],
    };
  } finally {
    await Promise.all([executors.off.ex.shutdown(), executors.on.ex.shutdown()]);
    off.cleanup();
    on.cleanup();
    ids.remove();
  }
}
