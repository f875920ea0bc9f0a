/**
 * The escalation ladder (config LADDER, default deepseek → gemini-flash → gemini-pro → sonnet → opus →
 * consensus → human) and which rung an attempt runs. Pure: every input comes from step results.
 *
 * A rung is passed over, with the reason recorded as a `skipped` stage, when
 *   - it cannot run: the executor says what is missing (a key, a login), or the CLI is not installed;
 *   - it is put aside for this task: it could not run earlier, or the provider refused its credentials;
 *   - it is cooling down: COOLDOWN_AFTER_FAILURES consecutive failed model runs (any task) rest it for
 *     COOLDOWN_MS. Cooldown only steers the ladder's own choices: a profile someone named (a pinned
 *     profile's first attempt, a human's retry, a direct `executor` run) runs as asked.
 * Setup problems never count as model failures, so they never cool a profile down.
 */
import { HUMAN, type ProfileName, type Rung } from "@vault-mcp/contract";

export { AUTO, HUMAN } from "@vault-mcp/contract";
export const COOLDOWN_AFTER_FAILURES = 3;
export const COOLDOWN_MS = 30 * 60_000;

/** What the executor can run now (from its /health), as the workflow keeps it. */
export interface Readiness {
  /** Profiles that cannot run, with what to set or run. A profile not listed is ready. */
  missing: Partial<Record<ProfileName, string>>;
  /** The profile a direct run of each CLI uses. */
  direct: Partial<Record<string, ProfileName>>;
}

export interface Standing {
  /** Profiles cooling down: when each cooldown ends (ms). */
  cooling: Partial<Record<ProfileName, number>>;
  /** Profiles put aside for this task, with why (already recorded as a stage). */
  aside: Partial<Record<ProfileName, string>>;
  ready: Readiness;
}

/** The next attempt: start at `from`; `forced` runs it even if cooling (someone named it). */
export interface Wanted {
  from: Rung;
  forced: boolean;
}

export interface Pass {
  profile: ProfileName;
  why: string;
  /** A setup problem (not ready): the profile is put aside for the rest of the task. */
  aside: boolean;
}

export type Pick =
  | { kind: "run"; profile: ProfileName; passed: Pass[] }
  /** The ladder is exhausted: a human decides (or, when no model could run at all, the task fails). */
  | { kind: "top"; passed: Pass[] };

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** Why `profile` cannot run now, or null when it can. */
function blocker(profile: ProfileName, standing: Standing, forced: boolean, now: number): Omit<Pass, "profile"> | null {
  const aside = standing.aside[profile];
  if (aside !== undefined) return { why: aside, aside: false };
  const missing = standing.ready.missing[profile];
  if (missing !== undefined) return { why: `not ready: ${missing}`, aside: true };
  const until = standing.cooling[profile];
  if (!forced && until !== undefined && until > now)
    return { why: `cooling until ${hhmm(until)} UTC after repeated failures`, aside: false };
  return null;
}

/**
 * The rung to run, starting at `wanted.from`. A forced profile that cannot run is passed like any
 * other; the climb then goes on above it when `climb`, else the pick ends at the top.
 */
export interface PickInput {
  ladder: readonly Rung[];
  wanted: Wanted;
  standing: Standing;
  /** Whether to go on above a rung that cannot run (false: the pick ends at the top). */
  climb: boolean;
  now: number;
}

export function pick({ ladder, wanted, standing, climb, now }: PickInput): Pick {
  const passed: Pass[] = [];
  const fresh = (p: ProfileName, b: Omit<Pass, "profile">) => {
    // A profile already put aside has its stage; say nothing twice.
    if (standing.aside[p] === undefined) passed.push({ profile: p, ...b });
  };
  if (wanted.from === HUMAN) return { kind: "top", passed };
  const start = ladder.indexOf(wanted.from);
  const first = wanted.from;
  const firstBlock = blocker(first, standing, wanted.forced, now);
  if (!firstBlock) return { kind: "run", profile: first, passed };
  fresh(first, firstBlock);
  // Off the ladder, or not climbing: nowhere else to go.
  if (start < 0 || !climb) return { kind: "top", passed };
  for (const rung of ladder.slice(start + 1)) {
    if (rung === HUMAN) break;
    const b = blocker(rung, standing, false, now);
    if (!b) return { kind: "run", profile: rung, passed };
    fresh(rung, b);
  }
  return { kind: "top", passed };
}

/** The rung above `current`; the top of the ladder (or an off-ladder profile) is the human. */
export function nextRung(ladder: readonly Rung[], current: ProfileName): Rung {
  const i = ladder.indexOf(current);
  return (i < 0 ? undefined : ladder[i + 1]) ?? HUMAN;
}
