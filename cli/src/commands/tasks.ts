import { parseArgs } from "node:util";
import { request, type Target } from "../client.ts";
import { age, duration, money, renderMermaid, table } from "../format.ts";
import { TaskDetail, TaskList } from "../types.ts";

export const TASKS_USAGE = `vault tasks list [--status failed,halted,…] [--since 24h] [--profile X] [--limit N] [--json]
vault tasks show <id> [--json]`;

export async function tasksList(t: Target, args: string[], out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({ args, options: { status: { type: "string" }, since: { type: "string" }, profile: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } }, strict: true });
  const q = new URLSearchParams();
  if (values.status) q.set("status", values.status);
  if (values.since) q.set("since", values.since);
  if (values.profile) q.set("profile", values.profile);
  if (values.limit) q.set("limit", values.limit);
  const { tasks } = TaskList.parse(await request(t, "GET", `/api/tasks${q.size ? `?${q}` : ""}`));
  if (values.json) {
    out(JSON.stringify(tasks, null, 2));
    return 0;
  }
  if (tasks.length === 0) {
    out("no tasks match");
    return 0;
  }
  out(table(["ID", "STATUS", "PROFILE", "ATTEMPTS", "COST", "CREATED", "FLAGS"], tasks.map((x) => [x.id, x.status, x.profile, String(x.attempts), money(x.costUsd), age(x.createdAt), x.flags.join(",")])));
  return 0;
}

export async function tasksShow(t: Target, args: string[], out: (s: string) => void, tty: boolean, port: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: "boolean" } }, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id) throw new UsageError("tasks show needs a task id");
  const d = TaskDetail.parse(await request(t, "GET", `/api/tasks/${encodeURIComponent(id)}`));
  if (values.json) {
    out(JSON.stringify(d, null, 2));
    return 0;
  }
  const flags = [...d.task.flags, ...(d.breakers.dayBlocked ? ["day_blocked"] : []), ...(d.breakers.monthFlagged ? ["month_flagged"] : [])];
  out(`${d.task.id}  ${d.task.status}  total ${money(d.task.costUsd)}${flags.length ? `  flags: ${flags.join(", ")}` : ""}`);
  out(`repo ${d.task.repo}  profile ${d.task.profile}  kind ${d.task.kind}${d.task.replayOf ? `  replay of ${d.task.replayOf}` : ""}`);
  if (d.task.error) out(`error: ${d.task.error}`);
  out("");
  out(
    d.stages.length
      ? table(["#", "PROFILE", "CLI", "STATUS", "COST", "TOKENS IN/OUT", "LATENCY", "ERROR"], d.stages.map((s) => [String(s.attempt), s.profile, s.cli, s.status, money(s.costUsd), `${s.tokensIn}/${s.tokensOut}`, duration(s.latencyMs), s.errorKind ?? ""]))
      : "no stages yet",
  );
  if (d.task.result) {
    out("");
    out(tty && d.task.result.startsWith("flowchart") ? renderMermaid(d.task.result) : d.task.result);
  }
  out("");
  out(`inspect: npx wrangler workflows instances describe execute-workflow ${d.task.id} --local --port ${port}`);
  return 0;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}
