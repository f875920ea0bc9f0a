import { type ConsensusFiles, modelRan, type StageView, TaskDetail } from "@vault-mcp/contract";
import { parseFlags, taskId, UsageError } from "../args.ts";
import { changeLines } from "../change.ts";
import { type Command, connect } from "../command.ts";
import { age, asked, count, duration, money, paint, runsText, status, table, truncate } from "../format.ts";
import { orUnknownTask } from "../http.ts";

export const tasksShow: Command = {
  name: "tasks show",
  summary: "Show one task: what it asked for, its stages, cost, breaker flags, decisions and progress.",
  about: `Each stage shows its model, outcome, cost, files and verify; a consensus run lists the files
both runs changed (the same way or not) and those only one did. --result adds the result as the MCP
client got it (a Mermaid diagram by default). The last line is the wrangler command that shows the
workflow instance's steps.`,
  usage: ["tasks show <id> [--result] [--json]"],
  flags: `  --result  also print the stored result (what execute / workflow_query state answered)
  --json    the API's answer as JSON: {task, stages, decisions, breakers, consensus, progress}`,
  examples: ["vault tasks show t-20261124-1530-ab12cd", "vault tasks show t-20261124-1530-ab12cd --result"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: "boolean" }, result: { type: "boolean" } });
    if (positionals.length > 1) throw new UsageError(`tasks show takes one task id, not ${positionals.length}`);
    const id = taskId(positionals[0]);
    const api = connect(values, io);
    const detail = await api.get(`/api/tasks/${id}`, TaskDetail).catch(orUnknownTask(id));
    if (values.json) {
      io.out(JSON.stringify(detail, null, 2));
      return 0;
    }
    io.out(
      renderTaskDetail(detail, {
        color: io.color,
        now: io.now(),
        workerUrl: api.target.url,
        result: values.result === true,
      }),
    );
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

const verifyText = (v: boolean | null | undefined): string => (v === true ? "pass" : v === false ? "fail" : "");

function stageTable(stages: readonly StageView[], color: boolean): string {
  // Which executor ran each attempt, once there is a pool (EXECUTOR_URL alone is `default`).
  const pool = stages.some((s) => s.executorId && s.executorId !== "default");
  return table(
    [
      "#",
      "PROFILE",
      "CLI",
      "MODEL",
      "STATUS",
      "COST",
      "TOKENS IN",
      "OUT",
      "LATENCY",
      "FILES",
      "VERIFY",
      "KIND",
      ...(pool ? ["EXECUTOR"] : []),
    ],
    stages.map((s) => [
      String(s.attempt),
      s.profile,
      s.cli,
      s.model,
      status(s.status, color),
      money(s.costUsd),
      count(s.tokensIn),
      count(s.tokensOut),
      duration(s.latencyMs),
      modelRan(s) && s.filesChanged !== undefined ? String(s.filesChanged) : "",
      verifyText(s.verifyOk),
      s.errorKind ?? "",
      ...(pool ? [s.executorId ?? ""] : []),
    ]),
    [0, 5, 6, 7, 8, 9],
  );
}

/** The consensus run's verdict and its files by group, from the API's fields. */
export function consensusLines(c: ConsensusFiles): string[] {
  const [a, b] = c.profiles;
  const verify = c.verify.map(verifyText).map((v) => v || "–");
  const groups: [string, string[]][] = [
    ["same", c.fileAgreement.filter((f) => f.same).map((f) => f.path)],
    ["differ", c.fileAgreement.filter((f) => !f.same).map((f) => f.path)],
    [`only ${a}`, c.filesOnlyA],
    [`only ${b}`, c.filesOnlyB],
  ];
  const width = Math.max(...groups.map(([name]) => name.length));
  return [
    `consensus (attempt ${c.attempt}): ${c.verdict}, answers ${Math.round(c.answerSimilarity * 100)}% alike · ${a} vs ${b} · verify ${verify.join("/")}`,
    ...groups
      .filter(([, files]) => files.length > 0)
      .map(([name, files]) => `  ${name.padEnd(width)}  ${files.join(", ")}`),
  ];
}

export function renderTaskDetail(
  d: TaskDetail,
  o: { color: boolean; now: number; workerUrl: string; result?: boolean },
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
        `repo ${t.repo}${t.deliver && t.deliver !== "none" ? ` (deliver ${t.deliver})` : ""}`,
        asked(t),
        `kind ${t.kind}`,
        runsText(d.stages.filter(modelRan).length, d.stages.length),
        `created ${age(t.createdAt, o.now)}`,
        ...(t.replayOf ? [`replay of ${t.replayOf}`] : []),
      ].join(" · "),
    ),
    `prompt: ${truncate(t.prompt, 100)}`,
    ...(t.error ? [`error: ${t.error}`] : []),
    ...(d.progress ? [`progress: ${d.progress.text}`] : []),
    "",
  ];
  if (d.stages.length === 0) lines.push("no stages yet");
  else {
    lines.push(stageTable(d.stages, o.color));
    // Each stage's own words, whole: why the chooser ran it, what a skipped rung needs, why one
    // failed, and for one that ran on an old commit (its fetch failed) how old.
    const said = d.stages.filter((s) => s.note || s.errorMessage || s.baseNote);
    if (said.length > 0) {
      lines.push("", "why:");
      for (const s of said)
        for (const words of [s.note, s.errorMessage, s.baseNote])
          if (words) lines.push(`  #${s.attempt} ${s.profile}: ${truncate(words, 300)}`);
    }
    const total = d.stages.reduce((n, s) => n + s.costUsd, 0);
    lines.push(dim(`${d.stages.length} stage${d.stages.length === 1 ? "" : "s"}, ${money(total)}`));
    // The succeeded attempt's change (and where it was delivered); else the last attempt that
    // committed something: where to look at the code on the executor VM.
    const change = d.change;
    const work = d.stages.findLast((s) => s.branch && s.commit);
    if (change) lines.push("", ...changeLines(change, o.color), dim(`read it with: vault tasks diff ${t.id}`));
    else if (work)
      lines.push(
        `work: branch ${work.branch} @ ${work.commit?.slice(0, 12)} on the executor (attempt ${work.attempt})`,
      );
  }
  if (d.consensus) lines.push("", ...consensusLines(d.consensus));
  if (d.decisions.length > 0) {
    lines.push("", "decisions:");
    for (const x of d.decisions)
      lines.push(
        `  ${age(x.createdAt, o.now).padEnd(8)} ${x.kind.padEnd(7)} ${x.decision}${x.rationale ? ` — ${truncate(x.rationale, 80)}` : ""} ${dim(`(${x.actor})`)}`,
      );
  }
  if (o.result && t.result) lines.push("", "result (as the MCP client got it):", t.result);
  lines.push("", dim(describeCommand(t.id, o.workerUrl)));
  return lines.join("\n");
}
