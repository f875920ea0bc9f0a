/**
 * The chooser (workflows/chooser.ts, issue 20) against simple baselines on a simulated stream of
 * 2,000 tasks, 20 seeds: cost per solved task (all spend, failed runs included, ÷ tasks solved) and
 * solve rate, each with a 95 % interval over the seeds. The workload and its sources are in
 * chooser-workload.ts and are printed into BENCHMARKS.md. The headline is the production
 * configuration: `auto` with the ceiling at the default per-task cap ($5) as the worth of a solve.
 * The human rung is not simulated: a task no rung solves (or that reaches the ceiling) is unsolved.
 */
import { chooseStart } from "../workflows/chooser.ts";
import { type PolicyResult, workloadMarkdown } from "./chooser-report.ts";
import {
  bestFixedStart,
  type ChooserRun,
  chooser,
  ladder,
  type Outcome,
  oracle,
  single,
  stream,
  type Task,
  WORKLOAD,
} from "./chooser-sim.ts";
import { LADDER } from "./chooser-workload.ts";
import { meanInterval } from "./stats.ts";
import type { Bench, BenchFigure } from "./types.ts";

const SEEDS = 20;
const TASKS = 2000;
/** What one more solved task may cost: production passes the task's cap, by default the $5 halt line. */
const WORTH_USD = 5;
/** The worth moved, for the sensitivity rows (a task with another budgetUsd). */
const OTHER_WORTHS = [2, 8, 16];
type Policy = [name: string, what: string, run: (seed: number) => Outcome];

const pick = (results: readonly PolicyResult[], name: string) => results.find((r) => r.name === name) as PolicyResult;

/** The three baselines every ratio is taken against, then `policies`, over the seeds' streams. */
function evaluate(tasks: (seed: number) => Task[], policies: readonly Policy[]): PolicyResult[] {
  const all: Policy[] = [
    ["always sonnet", "one sonnet run per task, no climbing", (s) => single(tasks(s), "sonnet")],
    ["always opus", "one opus run per task, no climbing", (s) => single(tasks(s), "opus")],
    [
      "static ladder",
      "`auto` before the chooser: from deepseek, climbing to consensus",
      (s) => ladder(tasks(s), () => 0),
    ],
    ...policies,
  ];
  const per = all.map(() => ({ cps: [] as number[], rate: [] as number[] }));
  for (let seed = 1; seed <= SEEDS; seed++)
    all.forEach(([, , run], i) => {
      const o = run(seed);
      per[i]?.cps.push(o.spendUsd / o.solved);
      per[i]?.rate.push((100 * o.solved) / o.tasks);
    });
  const sonnet = per[0]?.cps ?? [];
  const fixed = per[2]?.cps ?? [];
  return all.map(([name, what], i) => {
    const cps = per[i]?.cps ?? [];
    return {
      name,
      what,
      perSolved: meanInterval(cps),
      solveRate: meanInterval(per[i]?.rate ?? []),
      vsSonnet: meanInterval(cps.map((c, s) => c / (sonnet[s] ?? 1))),
      vsStatic: meanInterval(cps.map((c, s) => c / (fixed[s] ?? 1))),
    };
  });
}

/** Each seed's stream, drawn once. */
function streams(w = WORKLOAD): (seed: number) => Task[] {
  const drawn = new Map<number, Task[]>();
  return (seed) => drawn.get(seed) ?? (drawn.set(seed, stream(seed, TASKS, w)).get(seed) as Task[]);
}

export const run: Bench = async () => {
  const tasks = streams();
  const learned = new Map<number, ChooserRun>();
  const main = (seed: number) =>
    learned.get(seed) ?? (learned.set(seed, chooser(tasks(seed), { worthUsd: WORTH_USD })).get(seed) as ChooserRun);
  const noCeiling = "chooser without the ceiling";
  const results = evaluate(tasks, [
    ["oracle", "knows every outcome: one run of the cheapest rung that succeeds", (s) => oracle(tasks(s))],
    [
      "best fixed start",
      "knows the workload: the fixed start per kind that is cheapest overall on the stream",
      (s) => bestFixedStart(tasks(s)),
    ],
    [
      "chooser",
      `production \`auto\`: learns online; the climb stops (for a human) where an extra solve would cost more than the $${WORTH_USD} cap`,
      main,
    ],
    ["chooser, second half", "the same run, its last 1,000 tasks only", (s) => main(s).late],
    [
      noCeiling,
      "picks the start only, climbing to the top; λ = the running cost per solved task",
      (s) => chooser(tasks(s), { overall: true }),
    ],
    ["chooser, per-kind ratio", "no ceiling, no λ: each kind's own cost per solved task", (s) => chooser(tasks(s))],
  ]);
  const sonnet = pick(results, "always sonnet");
  const mine = pick(results, "chooser");
  const startOnly = pick(results, noCeiling);
  const gap = mine.solveRate.mean - sonnet.solveRate.mean;

  // Sensitivity: a chosen knob of the workload moved; the chooser against the same baselines.
  const sensitivity = [0, 0.8].map((correlation) => {
    const t = streams({ ...WORKLOAD, correlation });
    const r = evaluate(t, [["chooser", "", (s) => chooser(t(s), { worthUsd: WORTH_USD })]]);
    return {
      correlation,
      sonnet: pick(r, "always sonnet"),
      ladder: pick(r, "static ladder"),
      chooser: pick(r, "chooser"),
    };
  });
  const worths = OTHER_WORTHS.map((worthUsd) => ({
    worthUsd,
    result: pick(evaluate(tasks, [["ceiling", "", (s) => chooser(tasks(s), { worthUsd })]]), "ceiling"),
  }));

  // What one choice costs in the `choose` step (as it calls it): a kind with data on two rungs, seven rungs ready.
  const t0 = performance.now();
  const calls = 20_000;
  const stats = {
    deepseek: { runs: 400, successes: 300, spendUsd: 40, successSpendUsd: 28 },
    sonnet: { runs: 90, successes: 60, spendUsd: 110, successSpendUsd: 70 },
  };
  for (let i = 0; i < calls; i++)
    chooseStart({
      kind: "bugfix",
      ladder: ["deepseek", "gemini-flash", "gemini-pro", "sonnet", "opus", "consensus", "human"],
      stats,
      overall: { spendUsd: 900, solved: 600 },
      worthUsd: WORTH_USD,
      ceiling: true,
      seed: `t-${i}`,
    });
  const perCallUs = ((performance.now() - t0) * 1000) / calls;

  const pct = (x: number) => `${x.toFixed(1)} %`;
  const figures: BenchFigure[] = [
    ...results.map((r) => ({
      name: `${r.name}: cost per solved task (mean of ${SEEDS} seeds)`,
      value: r.perSolved.mean,
      unit: "$",
    })),
    {
      name: "chooser ÷ always sonnet (R)",
      value: mine.vsSonnet.mean,
      unit: "×",
      goal: "≤ 0.6",
      met: mine.vsSonnet.mean <= 0.6,
    },
    {
      name: "chooser ÷ static ladder (S)",
      value: mine.vsStatic.mean,
      unit: "×",
      goal: "≤ 0.9",
      met: mine.vsStatic.mean <= 0.9,
    },
    { name: "chooser solve rate", value: mine.solveRate.mean, unit: "%" },
    { name: "always sonnet solve rate", value: sonnet.solveRate.mean, unit: "%" },
    { name: "chooser − always sonnet, solve rate", value: gap, unit: "points", goal: "≥ −1", met: gap >= -1 },
    { name: "without the ceiling ÷ always sonnet", value: startOnly.vsSonnet.mean, unit: "×" },
    { name: "without the ceiling ÷ static ladder", value: startOnly.vsStatic.mean, unit: "×" },
    { name: "without the ceiling solve rate", value: startOnly.solveRate.mean, unit: "%" },
    { name: "chooseStart per call", value: perCallUs, unit: "µs" },
  ];
  const line = (label: string, r: PolicyResult) =>
    `${label}: $${r.perSolved.mean.toFixed(3)} per solved task (ratio ${r.vsSonnet.mean.toFixed(2)} vs always-sonnet, ${r.vsStatic.mean.toFixed(2)} vs static ladder), solve rate ${pct(r.solveRate.mean)} vs ${pct(sonnet.solveRate.mean)}`;
  return {
    title: "Chooser: cost per solved task (simulated workload)",
    runs: `${SEEDS} seeds × ${TASKS} tasks, ${WORKLOAD.kinds.length} kinds, ladder of ${LADDER.length} rungs; the chooser learns online`,
    figures,
    notes: [
      `No rule that only picks the start can reach R ≤ 0.6 on this workload: the best fixed start per kind, chosen in hindsight, costs ${pick(results, "best fixed start").vsSonnet.mean.toFixed(2)} × always-sonnet. Every sonnet failure climbs into opus ($4/$20 per MTok, 2 × sonnet, for a few points more success), a cost one sonnet run never pays. Production \`auto\` therefore stops the climb where one more solve would cost more than the task's cap ($${WORTH_USD} by default) and asks a human: the chooser's figures below. A task stopped there counts as unsolved here.`,
      "Workload, sources, definitions and sensitivity: the section below (from bench/chooser-workload.ts).",
    ],
    summary: [line("chooser without the ceiling", startOnly), line("chooser", mine)],
    details: workloadMarkdown({ results, sensitivity, worths, seeds: SEEDS, tasks: TASKS, worthUsd: WORTH_USD }),
  };
};
