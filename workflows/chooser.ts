/**
 * Where `profile: auto` starts on the ladder (issue 20), from what each rung has cost and solved for
 * this kind of task. Pure: no I/O, no clock, no Math.random (draws come from a generator seeded with
 * the task id, so a replayed step chooses the same); the workflow and `npm run bench -- chooser`
 * call the same function.
 *
 * Estimates. For each ready rung i, the ladder starting there and climbing on failure as the
 * workflow does costs and solves, per task,
 *   cost(i)  = Σ_{j ≥ i} P(reach j) · (p_j · c⁺_j + (1 − p_j) · c⁻_j),  P(reach j) = Π_{i ≤ k < j} (1 − p_k)
 *   solve(i) = 1 − Π_{j ≥ i} (1 − p_j),        expected cost per solved task = cost(i) / solve(i)
 * where p is the rung's success rate on this kind (a Beta(1, 1) posterior over its runs) and c⁺ / c⁻
 * the mean spend of a successful / failed run, with one pseudo-run at the profile's prior cost, so a
 * rung without data is priced from the price list. A rung above the usual start is mostly measured
 * after the rungs below failed, on the harder tasks: exactly what a climb meets. (Estimating each
 * rung as a start from first runs alone was tried: about 10 % more per solved task on the benchmark.)
 *
 * Objective. A start is worth its extra spend only if each extra task it solves costs less than λ:
 * the start minimises cost − λ · solve. λ is the worth of one more solved task (`worthUsd`; the
 * workflow passes the task's cap) or, without one, the running cost per solved task over all kinds
 * (`overall`; Dinkelbach: at λ = the best overall ratio this objective is that ratio's minimiser,
 * where each kind's own ratio lets one hard kind's costly solves pull the overall figure up).
 *
 * Exploration: Thompson sampling. Every rate is drawn from its posterior, the objective is evaluated
 * on the draws, and the best start under the draws runs. Why this rule:
 *   - it explores in proportion to the chance a rung is the best start: a rung that failed its first
 *     three tasks (Beta(1, 4)) still draws above 40 % one time in eight, so it is tried again, and
 *     when it then succeeds its posterior recovers; a rung that keeps failing is tried less and less;
 *   - the objective is any function of the rates (a climb, a ratio): sampling needs no confidence
 *     bound for it. Optimistic bounds were tried on the benchmark (start-only, 20 seeds): a KL-UCB
 *     bound on every rate cost $3.29 per solved task, one on the start's rate $2.33, sampling $2.09;
 *   - exploring is priced: opus is drawn as the start only if its drawn success would make it
 *     cheaper than the rest, so cheap rungs are retried often and opus rarely.
 * A kind with no runs at all starts at the first ready rung: the seed ladder's order.
 *
 * Ceiling. With `ceiling` and `worthUsd`, the chooser also says where the climb stops and hands over
 * to a human: after rung k when going on would cost more than worthUsd per extra solved task
 * (backward induction over the same objective). The workflow uses it for every `auto` task, with the
 * task's cap (budgetUsd, default the $5 halt) as the worth: no new knob. Why: picking only the start
 * cannot reach the goal (≤ 0.6 × always-sonnet's cost per solved task), because every sonnet
 * failure climbs into opus at 2 × sonnet's price for a few points more success (the best fixed start
 * per kind, chosen in hindsight, costs 1.01 ×); with the ceiling at $5 the benchmark's chooser costs
 * 0.51 × and solves 77.5 % against sonnet's 73.1 % (BENCHMARKS.md). The worth is fixed on purpose: with
 * the running λ, stopping early lowers λ, which stops earlier still.
 */
import { HUMAN, type ProfileName, type Rung } from "@vault-mcp/contract";
import { betaDraw, seeded } from "./chooser-draw.ts";
import { type ChooserRow, explain, withCeiling } from "./chooser-explain.ts";
import { pick, type Standing } from "./ladder.ts";

export type { ChooserRow };

/** One kind's `model_stats` row for one profile: real model runs only, as the write step counts them. */
export interface RungStats {
  runs: number;
  successes: number;
  spendUsd: number;
  /** Spend of the successful runs (a failed run often costs more: it runs to a limit). */
  successSpendUsd: number;
}

export interface ChooserInput {
  /** Normalised (`normalizeKind`). */
  kind: string;
  /** The rungs that can run now (`readyRungs`), in ladder order; a `human` ends the climb. */
  ladder: readonly Rung[];
  /** This kind's stats per profile; a profile without a row has no runs of this kind. */
  stats: Partial<Record<ProfileName, RungStats>>;
  /** Every kind's model_stats summed: Σ spend_usd and Σ successes (one success per solved task). */
  overall?: { spendUsd: number; solved: number };
  /** What one more solved task may cost; given, it replaces the running λ. */
  worthUsd?: number;
  /** With `worthUsd`: also say where the climb should stop (the ceiling). */
  ceiling?: boolean;
  /** false: no draws, the start is the best under the estimates (what `workflow_query chooser` shows). */
  explore?: boolean;
  /** Expected spend of one run per profile for rungs without data (default PRIOR_COST_USD). */
  priorCostUsd?: Partial<Record<ProfileName, number>>;
  /** The task id: a replay draws the same. */
  seed: string;
}

export interface ChooserChoice {
  kind: string;
  start: Rung;
  /** The start under the estimates alone, without the draws (what `workflow_query chooser` shows as the pick). */
  bestKnown: Rung;
  /** With `ceiling`: the last rung to try before a human. */
  stopAfter?: ProfileName;
  /** With a ceiling below the top: the rung above `stopAfter`, and what going on from it would cost per extra solved task (≥ λ) under the rates this choice used. */
  next?: { profile: ProfileName; costPerSolvedUsd: number };
  /** cold: no runs of the kind; stats: the best estimate; explore: a draw favoured a less known rung; none: nothing ready. */
  basis: "cold" | "stats" | "explore" | "none";
  /** What an extra solved task was allowed to cost (λ): `worthUsd`, else the overall cost per solved task. */
  lambdaUsd?: number;
  table: ChooserRow[];
  explanation: string;
}

/**
 * Expected spend of one run without data: executor/config/prices.json at 250k input and 30k output
 * tokens, the average SWE-bench Verified attempt (holyai.me/solve-tax; Claude Code with Sonnet 4.5
 * measured $1.19 per task at whatsthebestcodeagent.com). Consensus runs sonnet and codex: the sum.
 */
export const PRIOR_COST_USD: Readonly<Record<ProfileName, number>> = {
  deepseek: 0.1,
  "gemini-flash": 0.15,
  "gemini-pro": 0.61,
  sonnet: 0.8,
  opus: 1.6,
  codex: 0.61,
  consensus: 1.41,
};

/** The rungs `pick` would run now if asked (ready, not put aside, not cooling), in ladder order. */
export function readyRungs(ladder: readonly Rung[], standing: Standing, now: number): Rung[] {
  return ladder.filter(
    (r) =>
      r === HUMAN || pick({ ladder, wanted: { from: r, forced: false }, standing, climb: false, now }).kind === "run",
  );
}

interface Counts {
  n: number;
  s: number;
}
interface Model {
  profile: ProfileName;
  runs: number;
  counts: Counts;
  costOk: number;
  costFail: number;
  costRun: number;
}
/** A success rate per rung. */
type Rates = readonly number[];

function model(profile: ProfileName, input: ChooserInput): Model {
  const st = input.stats[profile] ?? { runs: 0, successes: 0, spendUsd: 0, successSpendUsd: 0 };
  const prior = input.priorCostUsd?.[profile] ?? PRIOR_COST_USD[profile];
  return {
    profile,
    runs: st.runs,
    counts: { n: st.runs, s: st.successes },
    costOk: (prior + st.successSpendUsd) / (1 + st.successes),
    costFail: (prior + st.spendUsd - st.successSpendUsd) / (1 + st.runs - st.successes),
    costRun: (prior + st.spendUsd) / (1 + st.runs),
  };
}

const mean = (c: Counts) => (c.s + 1) / (c.n + 2);
// Written so that equal costs give exactly that cost, whatever p: equal rungs tie exactly.
const runCost = (m: Model, p: number) => m.costFail + p * (m.costOk - m.costFail);

/** Expected spend and solve chance of a climb from rung `start` to rung `stop`. */
function climb(models: readonly Model[], rates: Rates, start: number, stop: number) {
  let reach = 1;
  let cost = 0;
  for (let j = start; j <= stop; j++) {
    const m = models[j] as Model;
    const p = rates[j] ?? 0;
    cost += reach * runCost(m, p);
    reach *= 1 - p;
  }
  return { cost, solve: 1 - reach };
}

interface Plan {
  /** Per start: its score (lower is better) and, with a ceiling, where it stops. */
  starts: { score: number; stop: number }[];
  best: number;
}

/** The best start (and stops) under `rates`. Strictly lower wins: a tie keeps the lower rung. */
function plan(models: readonly Model[], rates: Rates, lambda: number | undefined, ceiling: boolean): Plan {
  const top = models.length - 1;
  let starts: Plan["starts"];
  if (ceiling && lambda !== undefined) {
    // Backward induction: value[j] = expected spend − λ · expected solves of running j and then
    // climbing on while that pays; climbing on to j + 1 pays while value[j + 1] < 0.
    const value: number[] = [];
    let next = 0;
    for (let j = top; j >= 0; j--) {
      const p = rates[j] ?? 0;
      next = runCost(models[j] as Model, p) - lambda * p + (1 - p) * Math.min(0, next);
      value[j] = next;
    }
    starts = models.map((_, i) => {
      let stop = i;
      while (stop < top && (value[stop + 1] ?? 0) < 0) stop++;
      return { score: value[i] ?? 0, stop };
    });
  } else {
    starts = models.map((_, i) => {
      const { cost, solve } = climb(models, rates, i, top);
      const score = lambda !== undefined ? cost - lambda * solve : solve > 0 ? cost / solve : Number.POSITIVE_INFINITY;
      return { score, stop: top };
    });
  }
  const best = starts.reduce((b, s, i) => (s.score < (starts[b]?.score ?? 0) ? i : b), 0);
  return { starts, best };
}

/** Where the climb from `start` stops under `p`, and what going on past it would cost per extra solve. */
function stopping(models: readonly Model[], rates: Rates, p: Plan, start: number, ceiling: boolean) {
  if (!ceiling) return {};
  const stop = p.starts[start]?.stop ?? models.length - 1;
  const stopAfter = (models[stop] as Model).profile;
  const n = stop + 1;
  if (n >= models.length) return { stopAfter };
  const { cost, solve } = climb(models, rates, n, p.starts[n]?.stop ?? n);
  const next = {
    profile: (models[n] as Model).profile,
    costPerSolvedUsd: solve > 0 ? cost / solve : Number.POSITIVE_INFINITY,
  };
  return { stopAfter, next };
}

export function chooseStart(input: ChooserInput): ChooserChoice {
  const { kind } = input;
  const profiles: ProfileName[] = [];
  for (const r of input.ladder) {
    if (r === HUMAN) break;
    if (!profiles.includes(r)) profiles.push(r);
  }
  if (profiles.length === 0)
    return {
      kind,
      start: HUMAN,
      bestKnown: HUMAN,
      basis: "none",
      table: [],
      explanation: "no model rung is ready: a human decides",
    };

  const models = profiles.map((p) => model(p, input));
  const ceiling = input.ceiling === true && input.worthUsd !== undefined;
  const overall = input.overall && input.overall.solved > 0 ? input.overall.spendUsd / input.overall.solved : undefined;
  const lambda = input.worthUsd ?? overall;
  const means: Rates = models.map((m) => mean(m.counts));
  const known = plan(models, means, lambda, ceiling);
  const table: ChooserRow[] = models.map((m, i) => {
    const stop = known.starts[i]?.stop ?? models.length - 1;
    const { cost, solve } = climb(models, means, i, stop);
    return {
      profile: m.profile,
      runs: m.runs,
      successes: m.counts.s,
      success: mean(m.counts),
      costPerRunUsd: m.costRun,
      costPerTaskUsd: cost,
      solveRate: solve,
      costPerSolvedUsd: solve > 0 ? cost / solve : Number.POSITIVE_INFINITY,
      ...(ceiling ? { stopAfter: models[stop]?.profile } : {}),
    };
  });
  const common = {
    kind,
    bestKnown: (table[known.best] as ChooserRow).profile,
    table,
    ...(lambda === undefined ? {} : { lambdaUsd: lambda }),
  };
  const first = table[0] as ChooserRow;
  if (models.every((m) => m.runs === 0)) {
    const stop = stopping(models, means, known, 0, ceiling);
    return {
      ...common,
      start: first.profile,
      ...stop,
      basis: "cold",
      explanation: withCeiling(
        `chose ${first.profile} for kind ${kind}: no runs of this kind yet, so the ladder's first rung`,
        table,
        stop.stopAfter,
      ),
    };
  }

  const explore = input.explore !== false;
  const rand = seeded(`${input.seed}\u0000${kind}`);
  const draws: Rates = explore ? models.map((m) => betaDraw(m.counts.s + 1, m.counts.n - m.counts.s + 1, rand)) : means;
  const drawn = explore ? plan(models, draws, lambda, ceiling) : known;
  const stop = stopping(models, draws, drawn, drawn.best, ceiling);
  const basis = drawn.best === known.best ? "stats" : "explore";
  return {
    ...common,
    start: (table[drawn.best] as ChooserRow).profile,
    ...stop,
    basis,
    explanation: explain({
      kind,
      table,
      chosen: drawn.best,
      basis,
      scores: known.starts.map((st) => st.score),
      best: known.best,
      ...(lambda === undefined ? {} : { lambda: { usd: lambda, fixed: input.worthUsd !== undefined } }),
      ...(stop.stopAfter ? { stopAfter: stop.stopAfter } : {}),
    }),
  };
}
