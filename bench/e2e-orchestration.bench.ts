/**
 * The whole path: MCP `execute` on the Worker (wrangler dev) → workflow → executor → CLI → callback
 * → result, with an instant fake CLI, against the same job sent straight to the executor. Then 100
 * concurrent executes: completed, lost, duplicate stage rows.
 */
import { FAKE_CLAUDE } from "../executor/test/server/harness.ts";
import { startE2E } from "../test/e2e/fixture.ts";
import { percentile } from "./stats.ts";
import type { BenchReport } from "./types.ts";

const RUNS = 50;
const CONCURRENT = 100;
/** Runs whose steps are read back from the engine for the breakdown. */
const BREAKDOWN_RUNS = 12;

interface Sample {
  taskId: string;
  /** Epoch ms of the MCP call and of its answer. */
  at: number;
  end: number;
}
interface Described {
  start?: string;
  steps: {
    name: string;
    start: string;
    end: string;
    output?: { payload?: { createdAt?: string; finishedAt?: string } };
  }[];
}

/**
 * Median time of each part of one execute: before the first step (MCP, task row, instance start),
 * each step by its name without counters, the engine's gaps between steps, the wait less the job's
 * own time on the executor (its callback's delivery), and after the last step (execute's poll).
 */
function stepBreakdown(runs: (Sample & { describe: Described })[]): string[] {
  const parts = new Map<string, number[]>();
  const add = (k: string, v: number) => parts.set(k, [...(parts.get(k) ?? []), v]);
  for (const r of runs) {
    const steps = r.describe.steps;
    const first = steps[0];
    const last = steps.at(-1);
    if (!first || !last) continue;
    add("before the first step (MCP, task row, instance start)", Date.parse(first.start) - r.at);
    let prev = Date.parse(first.start);
    let gaps = 0;
    for (const s of steps) {
      const a = Date.parse(s.start);
      const b = Date.parse(s.end);
      gaps += a - prev;
      prev = b;
      const name = s.name.replace(/\s*#[\d.]+(-\d+)?$/, "").replace(/-\d+$/, "");
      const p = s.output?.payload;
      if (name.startsWith("wait ") && p?.createdAt && p.finishedAt) {
        add("job on the executor (inside the wait)", Date.parse(p.finishedAt) - Date.parse(p.createdAt));
        add(
          "wait less the job (callback → event → instance)",
          b - a - (Date.parse(p.finishedAt) - Date.parse(p.createdAt)),
        );
      } else add(`step ${name}`, b - a);
    }
    add("gaps between steps (engine)", gaps);
    add("after the last step (execute's poll, answer)", r.end - Date.parse(last.end));
  }
  return [`  where the time goes (median of the last ${runs.length} executes):`].concat(
    [...parts].map(([k, v]) => `    ${k}: ${percentile(v, 50).toFixed(1)} ms`),
  );
}

export async function run(): Promise<BenchReport> {
  const e = await startE2E(
    {},
    // 53 sequential and 100 concurrent starts from one caller: far past wrangler.toml's 30 a minute
    // and 20 active tasks, which protect a deployment, not a benchmark.
    { EXECUTE_RATE_PER_MINUTE: "100000", MAX_ACTIVE_TASKS: "100000" },
    {
      CLAUDE_BIN: FAKE_CLAUDE,
      MAX_QUEUE: String(CONCURRENT + 10),
      WORKTREE_POOL: "4",
      // The fake CLI counts its runs in the executor's data dir, which an agent identity cannot write;
      // the sandbox's own cost is measured in executor-sandbox.bench.ts.
      AGENT_SANDBOX: "off",
    },
    // A pool of one: the executor heartbeats, so readiness is read from D1, as in any pool.
    { pool: true },
  );
  try {
    const client = await e.mcp();
    const direct: number[] = [];
    const orchestrated: number[] = [];
    let n = 0;
    const sampled: Sample[] = [];
    const viaMcp = async () => {
      const t0 = performance.now();
      const at = Date.now();
      const r = (await client.callTool({
        name: "execute",
        arguments: { prompt: "write:hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 30 },
      })) as { structuredContent?: { status?: string; taskId?: string } };
      if (r.structuredContent?.status !== "succeeded")
        throw new Error(`execute ended ${JSON.stringify(r.structuredContent)}`);
      const ms = performance.now() - t0;
      sampled.push({ taskId: r.structuredContent.taskId ?? "", at, end: at + ms });
      return ms;
    };
    const viaExecutor = async () => {
      const t0 = performance.now();
      const res = await fetch(`${e.stack.executorUrl}/execute`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-auth-token": e.stack.secrets.EXECUTOR_SECRET },
        body: JSON.stringify({ jobKey: `direct-${n++}`, profile: "sonnet", prompt: "write:hello.txt", repo: "demo" }),
      });
      if (((await res.json()) as { status: string }).status !== "succeeded") throw new Error("direct job failed");
      return performance.now() - t0;
    };
    for (let i = 0; i < 3; i++) {
      await viaMcp();
      await viaExecutor();
    }
    for (let i = 0; i < RUNS; i++) {
      orchestrated.push(await viaMcp());
      direct.push(await viaExecutor());
    }
    const overhead = orchestrated.map((o, i) => o - (direct[i] ?? 0));
    // 100 at once through REST; each task must end with exactly one stage row.
    const ids = await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const res = await e
          .api("/api/execute", {
            method: "POST",
            body: JSON.stringify({ prompt: "write:hello.txt", repo: "demo", profile: "sonnet", waitSeconds: 0 }),
          })
          .catch((err: unknown) => {
            // Counted as lost below; the cause is worth seeing.
            process.stderr.write(
              `execute failed: ${err instanceof Error ? `${err.message} ${String(err.cause)}` : String(err)}\n`,
            );
            return null;
          });
        return res?.ok ? ((await res.json()) as { taskId: string }).taskId : null;
      }),
    );
    const deadline = Date.now() + 5 * 60_000;
    const finished = new Map<string, string>();
    while (finished.size < ids.filter(Boolean).length && Date.now() < deadline) {
      await Promise.all(
        ids.map(async (id) => {
          if (!id || finished.has(id)) return;
          const s = (await (await e.api(`/api/tasks/${id}/state`)).json()) as { status: string };
          if (!["running", "init"].includes(s.status)) finished.set(id, s.status);
        }),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    const completed = [...finished.values()].filter((s) => s === "succeeded").length;
    let duplicates = 0;
    for (const id of ids) {
      if (!id) continue;
      const d = (await (await e.api(`/api/tasks/${id}`)).json()) as { stages: unknown[] };
      if (d.stages.length > 1) duplicates += d.stages.length - 1;
    }
    // Where the time goes, from the engine's own step times (wrangler's describe) of the last runs.
    const breakdown = stepBreakdown(
      sampled.slice(-BREAKDOWN_RUNS).map((x) => ({
        ...x,
        describe: JSON.parse(
          e.wrangler(["workflows", "instances", "describe", "execute-workflow", x.taskId, "--json"]),
        ) as Described,
      })),
    );

    const lost = CONCURRENT - completed;
    const p50 = percentile(overhead, 50);
    return {
      title: "Orchestration (Worker + Workflow + executor, wrangler dev)",
      runs: `${RUNS} sequential executes after 3 warm-up; ${CONCURRENT} concurrent executes; instant fake CLI`,
      figures: [
        { name: "MCP execute → result p50", value: percentile(orchestrated, 50), unit: "ms" },
        { name: "direct executor call p50", value: percentile(direct, 50), unit: "ms" },
        { name: "orchestration overhead p50", value: p50, unit: "ms", goal: "≤ 100 ms", met: p50 <= 100 },
        { name: "orchestration overhead p95", value: percentile(overhead, 95), unit: "ms" },
        {
          name: "ratio orchestrated / direct (p50)",
          value: percentile(orchestrated, 50) / percentile(direct, 50),
          unit: "×",
        },
        { name: `concurrent executes completed (of ${CONCURRENT})`, value: completed, unit: "tasks" },
        { name: "concurrent executes lost", value: lost, unit: "tasks", goal: "0", met: lost === 0 },
        { name: "duplicate stage rows", value: duplicates, unit: "rows", goal: "0", met: duplicates === 0 },
      ],
      notes: [
        "Overhead = MCP execute wall time minus the same job sent straight to the executor (POST /execute), paired per run.",
        "The executor joins as a pool of one (heartbeats), so each attempt's readiness is read from D1, not asked of the executor.",
      ],
      summary: breakdown,
    };
  } finally {
    await e.stop();
  }
}
