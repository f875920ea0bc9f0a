/**
 * The cron trigger (every 10 minutes deployed; `npm start` calls it every minute, since `wrangler dev`
 * never fires crons on its own): reconcile what the workflow could not finish (services/reconcile.ts).
 */
import { getConfig } from "../core/config.ts";
import { describe } from "../core/errors.ts";
import { log } from "../core/log.ts";
import { reconcile } from "./services/reconcile.ts";

export async function scheduled(env: Env): Promise<void> {
  try {
    const report = await reconcile(env, getConfig(env), { limit: 50 }, Date.now());
    if (report.items.length || report.tasks.length)
      log("info", "reconciled", {
        written: report.written,
        woken: report.woken + report.tasks.filter((t) => t.outcome === "woken").length,
        ended: report.tasks.filter((t) => t.outcome === "ended").length,
        stillRunning: report.stillRunning,
        errors: report.errors,
      });
  } catch (err) {
    // The next run tries again; the log says why this one could not.
    log("error", "reconcile_run_failed", { error: describe(err) });
  }
}
