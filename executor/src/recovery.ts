/**
 * Start-up, before the first job: what a previous process left on disk is matched against the job
 * store, and nothing that belongs to no live job survives. Two steps, so the agent sandbox can close
 * what runs left open to their slots in between (executor.ts): `harvestInterrupted`, then `cleanDisk`.
 *   homes      $DATA_DIR/homes/<job>[-a|-b]: no job runs yet, so every one is stale. A job that was
 *              running when the process died (now `interrupted`, result null) first gets the usage its
 *              CLI had logged there, priced, as its result: what the killed run spent is not lost.
 *   worktrees  trees of jobs that were running and idle pooled trees are removed; a failed job's
 *              kept tree stays until KEEP_FAILED_MS (worktree/manager.ts).
 *   store      finished jobs older than JOB_RETENTION_DAYS are deleted (also every sweep).
 */
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { JobResult, RunResult } from "@vault-mcp/contract";
import type { AdapterRegistry } from "./clis/index.ts";
import type { WorktreeSlot } from "./interfaces.ts";
import { failedRun } from "./jobs/build-result.ts";
import type { JobRunner } from "./jobs/runner.ts";
import type { JobStore } from "./jobs/store.ts";
import { log } from "./log.ts";
import type { PriceTable } from "./pricing.ts";
import type { ResolvedSide } from "./profiles.ts";
import { priceUsage, totalTokens, UsageTracker } from "./usage/tracker.ts";
import type { GitWorktreeManager } from "./worktree/manager.ts";

export interface RecoveryParts {
  dataDir: string;
  store: JobStore;
  runner: JobRunner;
  worktrees: GitWorktreeManager;
  adapters: AdapterRegistry;
  prices: PriceTable;
  retentionDays: number;
  /** Jobs store.recover() just turned `interrupted`. */
  recovered: readonly string[];
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

/** The usage one side's CLI logged in its home, as the run that was cut short by the restart. */
async function loggedRun(parts: RecoveryParts, side: ResolvedSide, home: string): Promise<RunResult | null> {
  const usageLog = parts.adapters[side.cli].usageLog(side.auth, (parts.slots?.length ?? 0) > 0);
  if (!usageLog) return null;
  const usage = await new UsageTracker(usageLog, home, side.model).poll();
  if (usage.length === 0) return null;
  return {
    ...failedRun(
      side,
      "interrupted",
      "the executor stopped while this run was going; its cost is the usage the CLI had logged",
    ),
    costUsd: priceUsage(parts.prices, usage),
    tokens: totalTokens(usage),
  };
}

async function harvest(parts: RecoveryParts, jobId: string, homes: Map<string, string>): Promise<JobResult | null> {
  const rec = parts.store.get(jobId);
  if (!rec || rec.result !== null) return null;
  let sides: ResolvedSide[];
  try {
    sides = parts.runner.sidesFor(rec.request);
  } catch {
    return null; // its profile is gone from the config
  }
  const runs = await Promise.all(
    sides.map(async (side, i) => {
      const home = homes.get(sides.length > 1 ? `${jobId}-${"ab"[i]}` : jobId);
      return home ? loggedRun(parts, side, home).catch(() => null) : null;
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
  const names = await readdir(homesDir).catch(() => [] as string[]);
  const homes = new Map(names.map((n) => [n, path.join(homesDir, n)]));
  const interrupted = new Set(parts.recovered);
  let recovered = 0;
  for (const jobId of new Set(names.map((n) => HOME.exec(n)?.[1] ?? n))) {
    if (!interrupted.has(jobId)) continue;
    for (const [name, dir] of homes) {
      if (!name.startsWith(jobId)) continue;
      const gid = await stat(dir).then(
        (st) => st.gid,
        () => null,
      );
      // An agent identity may have kept its session log to itself: it gives it back first.
      await parts.slots
        ?.find((s) => s.gid === gid)
        ?.fixPermissions(dir)
        .catch(() => undefined);
    }
    const result = await harvest(parts, jobId, homes);
    if (result) {
      parts.store.setInterruptedResult(jobId, result);
      recovered += 1;
      log("info", "interrupted_cost_recovered", { jobId, costUsd: result.costUsd });
    }
  }
  return recovered;
}

/** Removes every home left, the trees of no live job, and jobs past the retention. */
export async function cleanDisk(parts: RecoveryParts, costsRecovered: number): Promise<RecoveryReport> {
  const now = parts.now ?? (() => new Date());
  const homesDir = path.join(parts.dataDir, "homes");
  const names = await readdir(homesDir).catch(() => [] as string[]);
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
