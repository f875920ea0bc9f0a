import type { BreakerThresholds, ProfileName } from "@vault-mcp/contract";
import { drizzle } from "drizzle-orm/d1";
import type { Pass, Pick } from "../ladder.ts";
import { errorFacts, type StageBase } from "./facts.ts";
import { stageStatements } from "./write.ts";

export type Chosen =
  | { kind: "run"; profile: ProfileName; passed: (Pass & { attempt: number })[] }
  | { kind: "top"; passed: (Pass & { attempt: number })[] };

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
