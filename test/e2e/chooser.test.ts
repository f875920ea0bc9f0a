/**
 * The chooser end to end (issue 20): the real Worker, workflow, executor and CLIs, with deepseek on
 * a mock model that fails every hard prompt (`picky`). A hard task from cold climbs past deepseek;
 * with the history of many more tasks written into model_stats the way the write step counts them
 * (real runs would take hours here), `auto` starts the hard kind above deepseek and the easy kind at
 * it, and the first stage of each says why.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HARD_MARKER } from "../mock-model-api/server.ts";
import { type E2E, startE2E, waitState } from "./fixture.ts";

let e: E2E;

beforeAll(async () => {
  e = await startE2E({ deepseek: "picky" });
}, 120_000);
afterAll(async () => {
  await e?.stop();
}, 60_000);

interface Stage {
  profile: string;
  status: string;
  errorKind: string | null;
  note?: string | null;
}

/** Runs one `auto` task of `kind` to its end; its stages. */
async function runAuto(kind: string, prompt: string): Promise<Stage[]> {
  const r = await e.api("/api/execute", {
    method: "POST",
    body: JSON.stringify({ prompt, repo: "demo", kind, waitSeconds: 40 }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  const { taskId } = (await r.json()) as { taskId: string };
  expect((await waitState(e, taskId)).status).toBe("succeeded");
  return ((await (await e.api(`/api/tasks/${taskId}`)).json()) as { stages: Stage[] }).stages;
}

/** Many earlier tasks' runs, added to model_stats as the write step adds one run. */
function history(rows: [profile: string, kind: string, runs: number, successes: number, perRunUsd: number][]) {
  const values = rows
    .map(([p, k, n, s, usd]) => `('${p}', '${k}', ${n}, ${s}, ${n - s}, ${n * usd}, ${s * usd}, ${Date.now()})`)
    .join(", ");
  e.d1(
    `INSERT INTO model_stats (profile, task_kind, runs, successes, failures, total_cost_usd, success_cost_usd, updated_at) VALUES ${values} ON CONFLICT (profile, task_kind) DO UPDATE SET runs = runs + excluded.runs, successes = successes + excluded.successes, failures = failures + excluded.failures, total_cost_usd = total_cost_usd + excluded.total_cost_usd, success_cost_usd = success_cost_usd + excluded.success_cost_usd`,
  );
}

describe("the chooser end to end", () => {
  it("a cheap rung that fails hard tasks: auto then starts hard above it and easy at it, saying why", async () => {
    const hard = `${HARD_MARKER} Create hello.txt`;
    const cold = await runAuto("Hard", hard);
    expect(cold.map((s) => [s.profile, s.status, s.errorKind])).toEqual([
      ["deepseek", "failed", "api"],
      ["gemini-flash", "succeeded", null],
    ]);
    // No data and the default $5 cap: every rung is worth trying (at list prices opus costs $1.60 a run).
    expect(cold[0]?.note).toBe("chose deepseek for kind hard: no runs of this kind yet, so the ladder's first rung");

    history([
      ["deepseek", "hard", 400, 0, 0.05],
      ["gemini-flash", "hard", 400, 400, 0.02],
      ["deepseek", "easy", 400, 400, 0.01],
    ]);

    const learnt = await runAuto("hard", hard);
    expect(learnt.map((s) => [s.profile, s.status])).toEqual([["gemini-flash", "succeeded"]]);
    expect(learnt[0]?.note).toMatch(
      /^chose gemini-flash for kind hard: 100 % of 401 runs, \$0\.0\d+ per solved task; deepseek \$[\d.]+/,
    );
    const easy = await runAuto("easy", "Create hello.txt");
    expect(easy.map((s) => [s.profile, s.status])).toEqual([["deepseek", "succeeded"]]);
    expect(easy[0]?.note).toMatch(/^chose deepseek for kind easy: 100 % of 400 runs, \$0\.01\d* per solved task; /);

    // The table behind the choice, as workflow_query chooser shows it; the real runs were counted.
    const view = (await (await e.api("/api/chooser?kind=hard")).json()) as {
      bestKnown: string;
      table: { profile: string; runs: number; successes: number }[];
      explanation: string;
    };
    expect(view.bestKnown).toBe("gemini-flash");
    expect(view.table.slice(0, 2)).toMatchObject([
      { profile: "deepseek", runs: 401, successes: 0 },
      { profile: "gemini-flash", runs: 402, successes: 402 },
    ]);
    expect(view.explanation).toMatch(/^chose gemini-flash for kind hard: /);
  }, 120_000);
});
