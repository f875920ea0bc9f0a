import { type BreakerThresholds, HUMAN, type ProfileName, type Rung } from "@vault-mcp/contract";
import { drizzle } from "drizzle-orm/d1";
import { type ChooserChoice, chooseStart, readyRungs } from "../chooser.ts";
import { usd } from "../chooser-explain.ts";
import { readChooserStats } from "../chooser-stats.ts";
import { type Pass, type Pick, pick, type Standing, type Wanted } from "../ladder.ts";
import { errorFacts, type StageBase } from "./facts.ts";
import { stageStatements } from "./write.ts";

/** What the chooser decided for a climb (kept by the instance from the step's stored result). */
export interface StartChoice {
  start: ProfileName;
  /** The chooser's line, noted on the chosen attempt's stage. */
  note: string;
  /** The ceiling: the climb's last rung before a human, and why it stops there. */
  stopAfter?: ProfileName;
  ceilingWhy?: string;
}

export type Chosen = (
  | { kind: "run"; profile: ProfileName; passed: (Pass & { attempt: number })[] }
  | { kind: "top"; passed: (Pass & { attempt: number })[] }
) & {
  /** Set when the chooser was asked. */
  choice?: StartChoice;
  /** The climb reached the ceiling (`stopAfter`), with model rungs above it left unrun. */
  ceilingReached?: boolean;
};

export interface PassesToRecord {
  baseFor: (attempt: number, profile: ProfileName) => StageBase;
  /** The attempt number before the first passed rung. */
  lastAttempt: number;
  choice: Pick;
  now: number;
  thresholds: BreakerThresholds;
}

/**
 * Records the rungs a pick passed over as `skipped` stages (cost 0, never in model_stats), each under
 * its own attempt number after `lastAttempt`, so `vault tasks show` says why a rung did not run.
 * One batch; re-running it writes nothing twice (the stage ids are fixed).
 */
export async function recordPasses(db: D1Database, r: PassesToRecord): Promise<Chosen> {
  const d = drizzle(db);
  const passed = r.choice.passed.map((pass, i) => ({ ...pass, attempt: r.lastAttempt + i + 1 }));
  const statements = passed.flatMap((pass) => {
    const facts = {
      ...errorFacts(r.baseFor(pass.attempt, pass.profile), "skipped", pass.why),
      status: "skipped" as const,
    };
    return stageStatements(d, facts, r.now, r.thresholds);
  });
  const [first, ...rest] = statements;
  if (first) await d.batch([first, ...rest]);
  return r.choice.kind === "run" ? { kind: "run", profile: r.choice.profile, passed } : { kind: "top", passed };
}

export interface ChooseInput extends Omit<PassesToRecord, "choice"> {
  ladder: readonly Rung[];
  wanted: Wanted;
  standing: Standing;
  climb: boolean;
  /** An `auto` task's first pick (or after a human's retry without a profile): ask the chooser where to start. */
  consult?: { taskId: string; kind: string; capUsd: number };
  /** The ceiling of an earlier choice in this climb. */
  stopAfter?: ProfileName;
}

/** The ladder up to the ceiling, then the human; null when no model rung lies above it. */
function upTo(ladder: readonly Rung[], stopAfter: ProfileName | undefined): readonly Rung[] | null {
  const i = stopAfter === undefined ? -1 : ladder.indexOf(stopAfter);
  if (i < 0 || !ladder.slice(i + 1).some((r) => r !== HUMAN)) return null;
  return [...ladder.slice(0, i + 1), HUMAN];
}

function startChoice(made: ChooserChoice, kind: string, capUsd: number): StartChoice {
  const start = made.start as ProfileName;
  if (!made.stopAfter || !made.next) return { start, note: made.explanation };
  return {
    start,
    note: made.explanation,
    stopAfter: made.stopAfter,
    ceilingWhy: `stopped after ${made.stopAfter} for kind ${kind}: ${made.next.profile} would cost ${usd(made.next.costPerSolvedUsd)} per extra solved task, over this task's $${capUsd} cap`,
  };
}

/**
 * The `choose #k` step: the chooser (when asked) from this kind's model_stats, then the ladder's pick
 * from the wanted rung, no higher than the ceiling, and the passed rungs recorded. The chooser's draws
 * are seeded with the task id, and the engine stores this result, so a replay chooses the same.
 */
export async function chooseRung(db: D1Database, c: ChooseInput): Promise<Chosen> {
  let wanted = c.wanted;
  let choice: StartChoice | undefined;
  if (c.consult) {
    const { taskId, kind, capUsd } = c.consult;
    const ready = readyRungs(c.ladder, c.standing, c.now);
    const { stats, overall } = await readChooserStats(db, kind);
    const made = chooseStart({ kind, ladder: ready, stats, overall, worthUsd: capUsd, ceiling: true, seed: taskId });
    if (made.start !== HUMAN) {
      choice = startChoice(made, kind, capUsd);
      // At the first ready rung, the pick starts where it was going to, so the rungs below still
      // say why they did not run; above it, the rungs skipped are the chooser's doing (its note says why).
      if (made.start !== ready[0]) wanted = { from: made.start, forced: false };
    }
  }
  const capped = upTo(c.ladder, choice ? choice.stopAfter : c.stopAfter);
  const ladder = capped ?? c.ladder;
  const withChoice = (chosen: Chosen): Chosen => (choice ? { ...chosen, choice } : chosen);
  // A climb that failed at the ceiling wants the rung above it: the human instead.
  if (capped && !wanted.forced && wanted.from !== HUMAN && !capped.includes(wanted.from))
    return withChoice({ kind: "top", passed: [], ceilingReached: true });
  const chosen = await recordPasses(db, {
    ...c,
    choice: pick({ ladder, wanted, standing: c.standing, climb: c.climb, now: c.now }),
  });
  return withChoice(capped && chosen.kind === "top" ? { ...chosen, ceilingReached: true } : chosen);
}
