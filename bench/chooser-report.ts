/** The chooser benchmark's section of BENCHMARKS.md: the workload with its sources, the results, the sensitivity. */
import {
  BASE_COST_USD,
  CORRELATION,
  COST_BASIS,
  COST_SIGMA,
  FAILED_RUN_COST,
  KINDS,
  LADDER,
  SOURCES,
  VERIFIED_ANCHOR,
  VERIFIED_MIX,
} from "./chooser-workload.ts";
import type { Interval } from "./stats.ts";

export interface PolicyResult {
  name: string;
  what: string;
  perSolved: Interval;
  solveRate: Interval;
  vsSonnet: Interval;
  vsStatic: Interval;
}

export interface ReportInput {
  results: readonly PolicyResult[];
  sensitivity: readonly { correlation: number; sonnet: PolicyResult; ladder: PolicyResult; chooser: PolicyResult }[];
  worths: readonly { worthUsd: number; result: PolicyResult }[];
  seeds: number;
  tasks: number;
  worthUsd: number;
}

const ci = (s: Interval, digits: number) => `${s.mean.toFixed(digits)} ± ${s.half.toFixed(digits)}`;
const money = (x: number) => `$${x < 0.1 ? x.toFixed(3) : x.toFixed(2)}`;
const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;

export function workloadMarkdown(r: ReportInput): string {
  const mixTotal = Object.values(VERIFIED_MIX).reduce((a, b) => a + b, 0);
  const verified = LADDER.map((p) =>
    KINDS.reduce((sum, k) => sum + ((VERIFIED_MIX[k.name] ?? 0) / mixTotal) * k.success[p], 0),
  );
  const lines = [
    "## Chooser benchmark: workload and results",
    "",
    `Reproduce with \`npm run bench -- chooser\` (add \`--write\` to update this file). ${r.seeds} seeds × ${r.tasks.toLocaleString("en")} tasks; each seed draws a new stream (kind, outcome and cost of every rung for every task), and every policy runs on the same streams.`,
    "",
    `**Definitions.** *Cost per solved task* = everything a policy spent over the stream, failed runs and climbs included, ÷ the tasks it solved. *Solve rate* = tasks solved ÷ tasks. *Always sonnet* / *always opus*: one run of that profile per task, no climbing; a failure stays unsolved. *Static ladder*: \`auto\` before the chooser, from deepseek up to consensus until a rung succeeds. *Oracle*: knows every outcome and runs only the cheapest rung that succeeds. *Best fixed start*: knows the workload; the start per kind with the lowest overall cost per solved task on each stream (no start-only rule beats it). *Chooser*: \`chooseStart\` learning online as production \`auto\` runs it: one choice per task (seeded with the task id), the ladder climbs from there on failure up to the chooser's ceiling (where one more solve would cost more than the worth of a solve, the task's cap: $${r.worthUsd} by default), and the kind's stats are updated after every run. The human rung is not simulated: a task the top rung fails, or that reaches the ceiling, is unsolved. Intervals: mean ± t₀.₉₇₅,₁₉ · sd / √n over the seeds; ratios are paired per seed.`,
    "",
    "### Workload",
    "",
    "Per kind: its share of the stream, a run's cost relative to a SWE-bench Verified task, and per profile the success probability of one run and the mean cost of a successful run.",
    "",
    row(["kind", "share", "cost ×", ...LADDER, "basis"]),
    row(Array(LADDER.length + 4).fill("---")),
    ...KINDS.map((k) =>
      row([
        k.name,
        `${Math.round(k.share * 100)} %`,
        `${k.costScale}`,
        ...LADDER.map((p) => `${k.success[p].toFixed(2)} · ${money(BASE_COST_USD[p] * k.costScale)}`),
        k.basis,
      ]),
    ),
    row([
      "check: SWE-bench Verified mix",
      "",
      "",
      ...verified.map(
        (v, i) => `${v.toFixed(2)} (published: ${VERIFIED_ANCHOR[LADDER[i] as (typeof LADDER)[number]]})`,
      ),
      "the bugfix-easy / bugfix / feature rows weighted 194 / 261 / 45",
    ]),
    row(["cost of a run at × 1", "", "", ...LADDER.map((p) => `${money(BASE_COST_USD[p])}: ${COST_BASIS[p]}`), ""]),
    "",
    `**Outcomes on one task** (chosen): with probability ${CORRELATION} a task is decided by its difficulty alone (one uniform draw u; a rung succeeds iff u < its probability, so a stronger rung succeeds wherever a weaker one did), otherwise each rung draws on its own; each rung's marginal success is the table's either way. A failed run costs ${FAILED_RUN_COST} × a successful one (chosen: it runs to a limit); every run's cost has log-normal noise, σ = ${COST_SIGMA} (chosen). Published figures are for model generations near ours, not the exact models in prices.json.`,
    "",
    "**Sources**",
    "",
    ...Object.entries(SOURCES).map(([key, text]) => `- *${key}*: ${text}`),
    "",
    "### Results",
    "",
    row(["policy", "what", "$ per solved task", "solve rate %", "÷ always sonnet", "÷ static ladder"]),
    row(Array(6).fill("---")),
    ...r.results.map((p) =>
      row([p.name, p.what, ci(p.perSolved, 3), ci(p.solveRate, 1), ci(p.vsSonnet, 2), ci(p.vsStatic, 2)]),
    ),
    "",
    "### Sensitivity",
    "",
    row([
      "change",
      "always sonnet $",
      "static ladder $",
      "chooser $",
      "chooser ÷ sonnet",
      "chooser ÷ static",
      "solve rate chooser / sonnet %",
    ]),
    row(Array(7).fill("---")),
    ...r.sensitivity.map((s) =>
      row([
        `outcome correlation ${s.correlation} (instead of ${CORRELATION})`,
        ci(s.sonnet.perSolved, 3),
        ci(s.ladder.perSolved, 3),
        ci(s.chooser.perSolved, 3),
        ci(s.chooser.vsSonnet, 2),
        ci(s.chooser.vsStatic, 2),
        `${s.chooser.solveRate.mean.toFixed(1)} / ${s.sonnet.solveRate.mean.toFixed(1)}`,
      ]),
    ),
    ...r.worths.map((w) =>
      row([
        `ceiling at $${w.worthUsd} (instead of $${r.worthUsd})`,
        "",
        "",
        ci(w.result.perSolved, 3),
        ci(w.result.vsSonnet, 2),
        ci(w.result.vsStatic, 2),
        w.result.solveRate.mean.toFixed(1),
      ]),
    ),
    "",
  ];
  return lines.join("\n");
}
