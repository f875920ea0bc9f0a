import { ReconcileReport } from "@vault-mcp/contract";
import { parseFlags, taskId, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { money } from "../format.ts";
import { orUnknownTask } from "../http.ts";

export const reconcile: Command = {
  name: "reconcile",
  summary: "Finish what the workflow could not: unwritten results, and tasks whose instance stopped moving.",
  about: `When D1 or the executor failed at the moment a result was to be written, the stage keeps its job id
and the result stays on the executor. For each such finished job: if the task's workflow instance is
still alive (it missed the callback, or a restarted local engine lost its timers) it is sent the result
and writes it itself; if the instance has ended, the result is written here, with its real cost, once,
and the task takes that attempt's outcome. A running task whose instance showed no sign of life for
15 minutes is woken the same way, or ended failed if its instance is gone. The Worker's cron trigger
does this every 10 minutes, and \`npm start\` every minute. Exit 1 when something could not be read.`,
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
    else if (report.items.length === 0 && report.tasks.length === 0) io.out("nothing to reconcile");
    else {
      for (const i of report.items) io.out(`${i.taskId} #${i.attempt}: ${stageLine(i)}`);
      for (const t of report.tasks) io.out(`${t.taskId}: ${taskLine(t)}`);
    }
    return report.errors > 0 ? 1 : 0;
  },
};

function stageLine(i: ReconcileReport["items"][number]): string {
  switch (i.outcome) {
    case "written":
      return `written (${i.status}, ${money(i.costUsd ?? 0)})`;
    case "woken":
      return "finished; its workflow instance was sent the result and writes it";
    case "still_running":
      return "still running on the executor";
    case "error":
      return `not read: ${i.reason ?? "error"}`;
  }
}

function taskLine(t: ReconcileReport["tasks"][number]): string {
  switch (t.outcome) {
    case "woken":
      return "no sign of life; its workflow instance was woken";
    case "ended":
      return `${t.status}: ${t.reason ?? "its workflow instance ended"}`;
    case "error":
      return `not read: ${t.reason ?? "error"}`;
  }
}
