import { ReconcileReport } from "@vault-mcp/contract";
import { parseFlags, taskId, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { money } from "../format.ts";
import { orUnknownTask } from "../http.ts";

export const reconcile: Command = {
  name: "reconcile",
  summary: "Write results the workflow could not (the job finished on the executor, its stage was never written).",
  about: `When D1 or the executor failed at the moment a result was to be written, the stage keeps its job id
and the result stays on the executor. This reads those results back and writes them, with their real
cost, once (the Worker's cron trigger does the same every 10 minutes). Exit 1 when a result could not
be read.`,
  usage: ["reconcile [<id>] [--limit <n>] [--json]"],
  flags: `  <id>         only this task's stages (default: every task's)
  --limit <n>  at most this many stages (1-100, default 20)
  --json       the API's answer as JSON`,
  examples: ["vault reconcile", "vault reconcile t-20261124-1530-ab12cd"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { limit: { type: "string" }, json: { type: "boolean" } });
    if (positionals.length > 1) throw new UsageError(`reconcile takes at most one task id, not ${positionals.length}`);
    const id = positionals[0] === undefined ? undefined : taskId(positionals[0]);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100))
      throw new UsageError(`--limit takes a whole number from 1 to 100, not '${values.limit}'`);
    const report = await connect(values, io)
      .post("/api/reconcile", { ...(id ? { taskId: id } : {}), ...(limit ? { limit } : {}) }, ReconcileReport)
      .catch(id ? orUnknownTask(id) : (err: unknown) => Promise.reject(err));
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else if (report.items.length === 0) io.out("nothing to reconcile");
    else
      for (const i of report.items)
        io.out(
          `${i.taskId} #${i.attempt}: ${i.outcome === "written" ? `written (${i.status}, ${money(i.costUsd ?? 0)})` : i.outcome === "still_running" ? "still running on the executor" : `not read: ${i.reason ?? "error"}`}`,
        );
    return report.errors > 0 ? 1 : 0;
  },
};
