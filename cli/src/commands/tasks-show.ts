import { TaskDetail } from "@vault-mcp/contract";
import { parseFlags, taskId, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { age, count, duration, money, paint, status, table, truncate } from "../format.ts";
import { orUnknownTask } from "../http.ts";
import { renderResult } from "../mermaid.ts";

export const tasksShow: Command = {
  name: "tasks show",
  summary: "Show one task: its stages, cost, breaker flags, decisions and result.",
  about: `On a terminal the result's Mermaid diagram is drawn as a text tree; piped, it is printed as
Mermaid source. The last line is the wrangler command that shows the workflow instance's steps.`,
  usage: ["tasks show <id> [--json]"],
  flags: "  --json   the API's answer as JSON: {task, stages, decisions, breakers}",
  examples: ["vault tasks show t-20261124-1530-ab12cd"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: "boolean" } });
    if (positionals.length > 1) throw new UsageError(`tasks show takes one task id, not ${positionals.length}`);
    const id = taskId(positionals[0]);
    const api = connect(values, io);
    const detail = await api.get(`/api/tasks/${id}`, TaskDetail).catch(orUnknownTask(id));
    if (values.json) {
      io.out(JSON.stringify(detail, null, 2));
      return 0;
    }
    io.out(renderTaskDetail(detail, { tty: io.tty, color: io.color, now: io.now(), workerUrl: api.target.url }));
    return 0;
  },
};

/** `npx wrangler workflows instances describe …` for this instance; `--local --port` for a local Worker. */
export function describeCommand(taskId: string, workerUrl: string): string {
  const url = new URL(workerUrl);
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `npx wrangler workflows instances describe execute-workflow ${taskId}${local ? ` --local --port ${port}` : ""}`;
}

export function renderTaskDetail(
  d: TaskDetail,
  o: { tty: boolean; color: boolean; now: number; workerUrl: string },
): string {
  const t = d.task;
  const flags = [
    ...t.flags,
    ...(d.breakers.dayBlocked ? ["day_blocked"] : []),
    ...(d.breakers.monthFlagged ? ["month_flagged"] : []),
  ];
  const dim = (s: string) => paint(s, "dim", o.color);
  const lines = [
    `${t.id}  ${status(t.status, o.color)}  ${money(t.costUsd)} total${flags.length ? `  ${paint(`flags: ${flags.join(", ")}`, "warn", o.color)}` : ""}`,
    dim(
      [
        `repo ${t.repo}`,
        `profile ${t.profile}`,
        `kind ${t.kind}`,
        `${t.attempts} attempt${t.attempts === 1 ? "" : "s"}`,
        `created ${age(t.createdAt, o.now)}`,
        ...(t.replayOf ? [`replay of ${t.replayOf}`] : []),
      ].join(" · "),
    ),
    `prompt: ${truncate(t.prompt, 100)}`,
    ...(t.error ? [`error: ${t.error}`] : []),
    "",
  ];
  if (d.stages.length === 0) lines.push("no stages yet");
  else {
    lines.push(
      table(
        ["#", "PROFILE", "CLI", "MODEL", "STATUS", "COST", "TOKENS IN", "OUT", "LATENCY", "KIND"],
        d.stages.map((s) => [
          String(s.attempt),
          s.profile,
          s.cli,
          s.model,
          status(s.status, o.color),
          money(s.costUsd),
          count(s.tokensIn),
          count(s.tokensOut),
          duration(s.latencyMs),
          s.errorKind ?? "",
        ]),
        [0, 5, 6, 7, 8],
      ),
    );
    // Each stage's own words, whole: a skipped rung says what to configure, a failed one why.
    const said = d.stages.filter((s) => s.errorMessage);
    if (said.length > 0) {
      lines.push("", "why:");
      for (const s of said) lines.push(`  #${s.attempt} ${s.profile}: ${truncate(s.errorMessage ?? "", 300)}`);
    }
    const total = d.stages.reduce((n, s) => n + s.costUsd, 0);
    lines.push(dim(`${d.stages.length} stage${d.stages.length === 1 ? "" : "s"}, ${money(total)}`));
    // The last attempt that committed something: where to look at the code on the executor VM.
    const work = d.stages.findLast((s) => s.branch && s.commit);
    if (work)
      lines.push(
        `work: branch ${work.branch} @ ${work.commit?.slice(0, 12)} on the executor (attempt ${work.attempt})`,
      );
  }
  if (d.decisions.length > 0) {
    lines.push("", "decisions:");
    for (const x of d.decisions)
      lines.push(
        `  ${age(x.createdAt, o.now).padEnd(8)} ${x.kind.padEnd(7)} ${x.decision}${x.rationale ? ` — ${truncate(x.rationale, 80)}` : ""} ${dim(`(${x.actor})`)}`,
      );
  }
  if (t.result) lines.push("", "result:", o.tty ? renderResult(t.result) : t.result);
  lines.push("", dim(describeCommand(t.id, o.workerUrl)));
  return lines.join("\n");
}
