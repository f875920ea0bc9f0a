/**
 * The cron trigger: reconcile the results the workflow could not write (see services/reconcile.ts),
 * and wake the instances whose executor's lease expired (services/leases.ts: heartbeats do it too,
 * but with every executor gone nobody heartbeats).
 */
import { getConfig } from "../core/config.ts";
import { describe } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { sweepLeases } from "./services/leases.ts";
import { reconcile } from "./services/reconcile.ts";

export async function scheduled(env: Env): Promise<void> {
  try {
    await sweepLeases(env, getConfig(env), Date.now(), true);
    const report = await reconcile(env, getConfig(env), { limit: 50 }, Date.now());
    if (report.items.length)
      log("info", "reconciled", { written: report.written, stillRunning: report.stillRunning, errors: report.errors });
  } catch (err) {
    // The next run tries again; the log says why this one could not.
    log("error", "reconcile_run_failed", { error: describe(err) });
  }
}
