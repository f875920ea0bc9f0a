import type { BreakerThresholds, ProfileName } from "@vault-mcp/contract";
import type { Pass, Pick } from "../ladder.ts";
import { errorFacts, type StageBase } from "./facts.ts";
import { stageStatements } from "./write.ts";

export type Chosen =
  | { kind: "run"; profile: ProfileName; passed: (Pass & { attempt: number })[] }
  | { kind: "top"; passed: (Pass & { attempt: number })[] };

/**
 * Records the rungs a pick passed over as `skipped` stages (cost 0, never in model_stats), each under
 * its own attempt number after `lastAttempt`, so `vault tasks show` says why a rung did not run.
 * One batch; re-running it writes nothing twice (the stage ids are fixed).
 */
export async function recordPasses(
  db: D1Database,
  baseFor: (attempt: number, profile: ProfileName) => StageBase,
  lastAttempt: number,
  choice: Pick,
  now: number,
  t: BreakerThresholds,
): Promise<Chosen> {
  const passed = choice.passed.map((pass, i) => ({ ...pass, attempt: lastAttempt + i + 1 }));
  const statements = passed.flatMap((pass) => {
    const facts = {
      ...errorFacts(baseFor(pass.attempt, pass.profile), "skipped", pass.why),
      status: "skipped" as const,
    };
    return stageStatements(db, facts, now, t);
  });
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  return choice.kind === "run" ? { kind: "run", profile: choice.profile, passed } : { kind: "top", passed };
}
