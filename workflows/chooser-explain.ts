/** The one line a choice explains itself with, as the `choose` stage and `workflow_query chooser` show it. */
import type { ProfileName } from "@vault-mcp/contract";

/** One rung of the table the chooser used (`chooseStart`'s `table`). */
export interface ChooserRow {
  profile: ProfileName;
  runs: number;
  successes: number;
  /** Estimated chance a run of it succeeds on this kind (posterior mean). */
  success: number;
  /** Mean spend of one run (prior-smoothed). */
  costPerRunUsd: number;
  /** Starting here: expected spend per task. */
  costPerTaskUsd: number;
  /** Starting here: the chance a task is solved somewhere up the climb. */
  solveRate: number;
  /** Starting here: expected spend per solved task, failed runs and climbs included. */
  costPerSolvedUsd: number;
  /** With a ceiling: where a climb from here would stop. */
  stopAfter?: ProfileName;
}

export interface Explained {
  kind: string;
  table: readonly ChooserRow[];
  /** The start that runs (an index into `table`). */
  chosen: number;
  basis: "stats" | "explore";
  /** Each start's score under the estimates (lower is better), and the best of them. */
  scores: readonly number[];
  best: number;
  /** What an extra solve may cost: the running cost per solved task, or a fixed worth. */
  lambda?: { usd: number; fixed: boolean };
  stopAfter?: ProfileName;
}

/**
 * `chose gemini-flash for kind refactor: 78 % of 41 runs, $0.026 per solved task; sonnet $0.31`,
 * against the runner-up (or, when exploring, the best known start). When the runner-up is cheaper
 * per solved task, it lost on what its extra solves would cost: the line says so.
 */
export function explain(e: Explained): string {
  const row = e.table[e.chosen] as ChooserRow;
  const seen = row.runs ? `${Math.round((100 * row.successes) / row.runs)} % of ${row.runs} runs` : "no runs yet";
  let line = `chose ${row.profile} for kind ${e.kind}${e.basis === "explore" ? " to learn more" : ""}: ${seen}, ${usd(row.costPerSolvedUsd)} per solved task`;
  let rival: number | undefined = e.best;
  if (e.basis === "stats") {
    rival = undefined;
    e.scores.forEach((score, i) => {
      if (i !== e.chosen && (rival === undefined || score < (e.scores[rival] ?? 0))) rival = i;
    });
  }
  const other = rival === undefined ? undefined : e.table[rival];
  if (other) {
    line += `; ${e.basis === "explore" ? "best known " : ""}${other.profile} ${usd(other.costPerSolvedUsd)}`;
    const extra = other.solveRate - row.solveRate;
    if (e.basis === "stats" && e.lambda && other.costPerSolvedUsd < row.costPerSolvedUsd && extra > 0) {
      const worth = e.lambda.fixed
        ? `the ${usd(e.lambda.usd)} a solve is worth`
        : `${usd(e.lambda.usd)}, the cost per solved task overall`;
      line += `, but its extra solves would cost ${usd((other.costPerTaskUsd - row.costPerTaskUsd) / extra)} each, over ${worth}`;
    }
  }
  return withCeiling(line, e.table, e.stopAfter);
}

/** `…; a human after sonnet` when the climb stops below the top rung. */
export function withCeiling(line: string, table: readonly ChooserRow[], stopAfter: ProfileName | undefined): string {
  return stopAfter && stopAfter !== table.at(-1)?.profile ? `${line}; a human after ${stopAfter}` : line;
}

/** Two significant digits below a dollar ($0.026, $0.31), cents above ($4.20). */
export function usd(x: number): string {
  if (!Number.isFinite(x)) return "—";
  if (x === 0) return "$0";
  return Math.abs(x) >= 1 ? `$${x.toFixed(2)}` : `$${x.toPrecision(2)}`;
}
