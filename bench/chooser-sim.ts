/**
 * The chooser benchmark's simulation: a seeded stream of tasks drawn from the workload, and the
 * policies run over the same stream. Every policy sees the same outcomes and costs per task.
 */
import type { ProfileName } from "@vault-mcp/contract";
import { chooseStart, type RungStats } from "../workflows/chooser.ts";
import { normal, seeded } from "../workflows/chooser-draw.ts";
import {
  BASE_COST_USD,
  CORRELATION,
  COST_SIGMA,
  FAILED_RUN_COST,
  KINDS,
  type Kind,
  LADDER,
  type LadderProfile,
} from "./chooser-workload.ts";

export interface Task {
  id: string;
  kind: Kind;
  /** Per rung, in LADDER order: would this run succeed, and what would it cost. */
  ok: boolean[];
  costUsd: number[];
}

export interface Outcome {
  spendUsd: number;
  solved: number;
  tasks: number;
}

export interface Workload {
  kinds: readonly Kind[];
  correlation: number;
  baseCostUsd: Readonly<Record<LadderProfile, number>>;
}

export const WORKLOAD: Workload = { kinds: KINDS, correlation: CORRELATION, baseCostUsd: BASE_COST_USD };

export function stream(seed: number, count: number, w: Workload = WORKLOAD): Task[] {
  const r = seeded(`stream-${seed}`);
  const tasks: Task[] = [];
  for (let i = 0; i < count; i++) {
    let x = r();
    const kind = w.kinds.find((k) => (x -= k.share) < 0) ?? (w.kinds.at(-1) as Kind);
    const byDifficulty = r() < w.correlation;
    const u = r();
    const ok = LADDER.map((p) => (byDifficulty ? u : r()) < kind.success[p]);
    const costUsd = LADDER.map(
      (p, j) =>
        w.baseCostUsd[p] *
        kind.costScale *
        (ok[j] ? 1 : FAILED_RUN_COST) *
        // Log-normal with mean 1.
        Math.exp(COST_SIGMA * normal(r) - (COST_SIGMA * COST_SIGMA) / 2),
    );
    tasks.push({ id: `t-${seed}-${i}`, kind, ok, costUsd });
  }
  return tasks;
}

/** One run of one rung, no climbing (`always sonnet`, `always opus`). */
export function single(tasks: readonly Task[], profile: LadderProfile): Outcome {
  const j = LADDER.indexOf(profile);
  let spendUsd = 0;
  let solved = 0;
  for (const t of tasks) {
    spendUsd += t.costUsd[j] ?? 0;
    if (t.ok[j]) solved++;
  }
  return { spendUsd, solved, tasks: tasks.length };
}

/** Run one task from rung `start` up the ladder until a rung succeeds or the top fails. */
function climb(
  t: Task,
  start: number,
  each?: (j: number) => void,
  stop = LADDER.length - 1,
): { spend: number; ok: boolean } {
  let spend = 0;
  for (let j = start; j <= stop; j++) {
    spend += t.costUsd[j] ?? 0;
    each?.(j);
    if (t.ok[j]) return { spend, ok: true };
  }
  return { spend, ok: false };
}

/** The ladder from a fixed start per kind (the static ladder: from the cheapest rung for all). */
export function ladder(tasks: readonly Task[], startOf: (kind: Kind) => number): Outcome {
  let spendUsd = 0;
  let solved = 0;
  for (const t of tasks) {
    const { spend, ok } = climb(t, startOf(t.kind));
    spendUsd += spend;
    if (ok) solved++;
  }
  return { spendUsd, solved, tasks: tasks.length };
}

/** Knows every outcome: runs only the cheapest rung that succeeds; a task no rung solves costs nothing. */
export function oracle(tasks: readonly Task[]): Outcome {
  let spendUsd = 0;
  let solved = 0;
  for (const t of tasks) {
    const costs = t.costUsd.filter((_, j) => t.ok[j]);
    if (costs.length === 0) continue;
    spendUsd += Math.min(...costs);
    solved++;
  }
  return { spendUsd, solved, tasks: tasks.length };
}

/**
 * Knows the workload: the fixed start per kind that gives the lowest cost per solved task over the
 * whole stream (every combination tried). No rule that only picks the start from the kind does
 * better on this stream.
 */
export function bestFixedStart(tasks: readonly Task[]): Outcome & { starts: Record<string, LadderProfile> } {
  const kinds = [...new Set(tasks.map((t) => t.kind))];
  const options = kinds.map((kind) => {
    const mine = tasks.filter((t) => t.kind === kind);
    return LADDER.map((_, j) => ladder(mine, () => j));
  });
  let best = { ratio: Number.POSITIVE_INFINITY, pick: [] as number[], spendUsd: 0, solved: 0 };
  const combos = LADDER.length ** kinds.length;
  for (let c = 0; c < combos; c++) {
    let rest = c;
    let spendUsd = 0;
    let solved = 0;
    const pick: number[] = [];
    for (const opts of options) {
      const j = rest % LADDER.length;
      rest = Math.floor(rest / LADDER.length);
      pick.push(j);
      spendUsd += opts[j]?.spendUsd ?? 0;
      solved += opts[j]?.solved ?? 0;
    }
    if (spendUsd / solved < best.ratio) best = { ratio: spendUsd / solved, pick, spendUsd, solved };
  }
  const starts = Object.fromEntries(kinds.map((k, i) => [k.name, LADDER[best.pick[i] ?? 0] as LadderProfile]));
  return { spendUsd: best.spendUsd, solved: best.solved, tasks: tasks.length, starts };
}

export interface ChooserRun extends Outcome {
  /** The same over the stream's second half, once the chooser has learned. */
  late: Outcome;
  /** How often each rung was the start, and how many choices were explorations. */
  starts: Record<string, number>;
  explore: number;
}

export interface ChooserOptions {
  /** Pass the running cost per solved task over all kinds (as the workflow would, from model_stats). */
  overall?: boolean;
  /** A fixed worth of a solved task: the chooser also sets a ceiling. */
  worthUsd?: number;
}

const EMPTY: RungStats = { runs: 0, successes: 0, spendUsd: 0, successSpendUsd: 0 };

/** The chooser learning online, as in production: one choice per task, stats after every run. */
export function chooser(tasks: readonly Task[], options: ChooserOptions = {}): ChooserRun {
  const stats = new Map<string, Partial<Record<ProfileName, RungStats>>>();
  const out: ChooserRun = {
    spendUsd: 0,
    solved: 0,
    tasks: tasks.length,
    starts: {},
    explore: 0,
    late: { spendUsd: 0, solved: 0, tasks: 0 },
  };
  tasks.forEach((t, i) => {
    const mine = stats.get(t.kind.name) ?? {};
    stats.set(t.kind.name, mine);
    const choice = chooseStart({
      kind: t.kind.name,
      ladder: LADDER,
      stats: mine,
      seed: t.id,
      // Σ spend ÷ Σ successes over every model_stats row: each solved task has one successful run.
      ...(options.overall ? { overall: { spendUsd: out.spendUsd, solved: out.solved } } : {}),
      ...(options.worthUsd === undefined ? {} : { worthUsd: options.worthUsd, ceiling: true }),
    });
    out.starts[choice.start] = (out.starts[choice.start] ?? 0) + 1;
    if (choice.basis === "explore") out.explore++;
    const record = (j: number) => {
      const p = LADDER[j] as LadderProfile;
      const s = mine[p] ?? EMPTY;
      const won = t.ok[j] === true;
      const cost = t.costUsd[j] ?? 0;
      mine[p] = {
        runs: s.runs + 1,
        successes: s.successes + (won ? 1 : 0),
        spendUsd: s.spendUsd + cost,
        successSpendUsd: s.successSpendUsd + (won ? cost : 0),
      };
    };
    const start = LADDER.indexOf(choice.start as LadderProfile);
    const stop = choice.stopAfter ? LADDER.indexOf(choice.stopAfter as LadderProfile) : LADDER.length - 1;
    const { spend, ok } = climb(t, start, record, stop);
    out.spendUsd += spend;
    if (ok) out.solved++;
    if (i >= tasks.length / 2) {
      out.late.spendUsd += spend;
      out.late.tasks++;
      if (ok) out.late.solved++;
    }
  });
  return out;
}
