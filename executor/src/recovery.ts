/**
 * Start-up, before the first job: what a previous process left is matched against the job store,
 * and nothing that belongs to no live job survives. In order (executor.ts): the processes its runs
 * left running are killed (process/orphans.ts; as the agent identities, everything of theirs), so
 * their spend stops and their logs are final; `harvestInterrupted`; the agent sandbox closes what
 * runs left open to their slots; `cleanDisk`; then the jobs that never started run (re-queued).
 *   homes      $DATA_DIR/homes/<job>[-a|-b]: no job runs yet, so every one is stale. A job that was
 *              running when the process died (now `interrupted`, result null) first gets the usage its
 *              CLI had logged there, priced, as its result: what the killed run spent is not lost.
 *              A run whose log cannot be read, or whose CLI was started (a process recorded) but
 *              whose home is gone, is counted at its bound (usage/killed-run.ts).
 *   worktrees  trees of jobs that were running and idle pooled trees are removed; a failed job's
 *              kept tree stays until KEEP_FAILED_MS (worktree/manager.ts).
 *   store      finished jobs older than JOB_RETENTION_DAYS are deleted (also every sweep).
 */
import { readdirSync } from "node:fs";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import type { JobResult, RunResult } from "@vault-mcp/contract";
import type { AdapterRegistry } from "./clis/index.ts";
import { isMissing, listDir } from "./fs-missing.ts";
import type { WorktreeSlot } from "./interfaces.ts";
import { failedRun } from "./jobs/build-result.ts";
import type { JobRunner } from "./jobs/runner.ts";
import type { JobStore } from "./jobs/store.ts";
import { log } from "./log.ts";
import type { PriceTable } from "./pricing.ts";
import type { ResolvedSide } from "./profiles.ts";
import { costBound, readUsage, settleCost, sideBudget, type UsageRead } from "./usage/killed-run.ts";
import { UsageTracker } from "./usage/tracker.ts";
import type { GitWorktreeManager } from "./worktree/manager.ts";

export interface RecoveryParts {
  dataDir: string;
  store: JobStore;
  runner: JobRunner;
  worktrees: GitWorktreeManager;
  adapters: AdapterRegistry;
  prices: PriceTable;
  retentionDays: number;
  /** UNKNOWN_COST_USD: the bound of a cut-short run of a job without maxBudgetUsd. */
  unknownCostUsd: number;
  /** Jobs store.recover() just turned `interrupted`. */
  recovered: readonly string[];
  /** Runs (`<job>[-a|-b]`) whose CLI was spawned: the job store's process records. */
  spawned?: ReadonlySet<string>;
  /** The sandbox's slots: a home of a run as an identity is given back (as it) before it is read. */
  slots?: readonly WorktreeSlot[];
  now?: () => Date;
}

export interface RecoveryReport {
  homesRemoved: number;
  worktreesRemoved: number;
  jobsPurged: number;
  /** Interrupted jobs whose logged cost was recovered. */
  costsRecovered: number;
}

const HOME = /^(.+?)(?:-([ab]))?$/;

/** The job a home (or worktree) name `<job>[-a|-b]` belongs to. */
const jobOfRun = (name: string): string => HOME.exec(name)?.[1] ?? name;

/**
 * The jobs with a per-run home on disk: their run got as far as its CLI's home (created just before
 * the CLI starts). Read before the store's recovery, which counts such a job as started; for runs of
 * an executor that recorded no processes it is the only trace.
 */
export function jobsWithHomes(dataDir: string): Set<string> {
  try {
    return new Set(readdirSync(path.join(dataDir, "homes")).map(jobOfRun));
  } catch (err) {
    if (isMissing(err)) return new Set();
    throw err;
  }
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * One side's run, cut short by the restart: the usage its CLI logged in its home, else its bound (the
 * log could not be read, or the home is gone although the CLI had started).
 */
async function cutShortRun(
  parts: RecoveryParts,
  s: { jobId: string; side: ResolvedSide; home: string | null; boundUsd: number },
): Promise<RunResult> {
  const usageLog = parts.adapters[s.side.cli].usageLog(s.side.auth, (parts.slots?.length ?? 0) > 0);
  const read: UsageRead =
    s.home === null
      ? { kind: "unreadable", error: "its home is gone" }
      : await readUsage(usageLog ? new UsageTracker(usageLog, s.home, s.side.model) : null);
  if (read.kind === "unreadable")
    log("warn", "usage_log_unreadable", { jobId: s.jobId, cli: s.side.cli, error: read.error });
  const why =
    read.kind === "read"
      ? "its cost is the usage the CLI had logged"
      : "its usage log could not be read, so its cost is its budget bound";
  const run = failedRun(s.side, "interrupted", `the executor stopped while this run was going; ${why}`);
  return settleCost(run, { read, killed: true, prices: parts.prices, boundUsd: s.boundUsd });
}

async function harvest(parts: RecoveryParts, jobId: string, homes: Map<string, string>): Promise<JobResult | null> {
  const rec = parts.store.get(jobId);
  if (!rec || rec.result !== null) return null;
  let sides: ResolvedSide[];
  try {
    sides = parts.runner.sidesFor(rec.request);
  } catch (err) {
    // Its profile is gone from the config: which CLI ran, and so its log, are unknown.
    log("warn", "interrupted_cost_unknown", { jobId, error: errText(err) });
    return null;
  }
  const boundUsd = costBound(sideBudget(rec.request, sides.length), parts.unknownCostUsd);
  const runs = await Promise.all(
    sides.map(async (side, i) => {
      const run = sides.length > 1 ? `${jobId}-${"ab"[i]}` : jobId;
      const home = homes.get(run) ?? null;
      // Neither a home nor a process: the side never got as far as its CLI, so it spent nothing.
      if (home === null && !parts.spawned?.has(run)) return null;
      return cutShortRun(parts, { jobId, side, home, boundUsd });
    }),
  );
  if (runs.every((r) => r === null)) return null;
  return parts.runner.interruptedResult(rec.request, sides, runs);
}

/**
 * A job that was running when the process died gets, as its result, the usage its CLI had logged in
 * its per-run home (read before any home is removed). Returns how many jobs got a cost.
 */
export async function harvestInterrupted(parts: RecoveryParts): Promise<number> {
  const homesDir = path.join(parts.dataDir, "homes");
  const names = await listDir(homesDir);
  const homes = new Map(names.map((n) => [n, path.join(homesDir, n)]));
  let recovered = 0;
  for (const jobId of parts.recovered) {
    for (const [name, dir] of homes) {
      if (jobOfRun(name) !== jobId) continue;
      // An agent identity may have kept its session log to itself: it gives it back first. When
      // that fails, the read says so and the run is counted at its bound.
      try {
        const { gid } = await stat(dir);
        await parts.slots?.find((s) => s.gid === gid)?.fixPermissions(dir);
      } catch (err) {
        if (!isMissing(err)) log("warn", "usage_log_permissions_failed", { jobId, dir, error: errText(err) });
      }
    }
    const result = await harvest(parts, jobId, homes);
    if (result) {
      parts.store.setInterruptedResult(jobId, result);
      recovered += 1;
      log("info", "interrupted_cost_recovered", {
        jobId,
        costUsd: result.costUsd,
        costSource: [result.run.costSource, result.runB?.costSource].filter(Boolean).join(","),
      });
    }
  }
  return recovered;
}

/** Removes every home left, the trees of no live job, and jobs past the retention. */
export async function cleanDisk(parts: RecoveryParts, costsRecovered: number): Promise<RecoveryReport> {
  const now = parts.now ?? (() => new Date());
  const homesDir = path.join(parts.dataDir, "homes");
  const names = await listDir(homesDir);
  for (const name of names) await rm(path.join(homesDir, name), { recursive: true, force: true });
  const worktreesRemoved = await parts.worktrees.reconcileAfterRestart();
  const jobsPurged = purgeOld(parts.store, parts.retentionDays, now());
  const report = { homesRemoved: names.length, worktreesRemoved, jobsPurged, costsRecovered };
  log("info", "disk_reconciled", { ...report });
  return report;
}

/** Deletes finished jobs older than the retention; returns how many. */
export function purgeOld(store: JobStore, retentionDays: number, now: Date): number {
  return store.purgeFinished(new Date(now.getTime() - retentionDays * 86_400_000).toISOString());
}
