import { TaskList, type TaskView } from "@vault-mcp/contract";
import { integer, noPositionals, parseFlags, since, statuses } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { age, asked, money, status, table, truncate } from "../format.ts";

export const tasksList: Command = {
  name: "tasks list",
  summary: "List recent tasks, newest first.",
  about: `ASKED is what the task asked to run (executor claude, profile auto, …); RUNS counts the
attempts in which a model ran (a rung skipped for a missing key is not one).`,
  usage: ["tasks list [--status <s,…>] [--since <window>] [--profile <name>] [--limit <n>] [--json]"],
  flags: `  --status <s,…>     only these statuses (comma-separated or repeated): init, running, succeeded,
                     failed, halted, blocked, needs_human, closed
  --since <window>   only tasks created within it: 90m, 24h, 7d
  --profile <name>   only tasks that asked for this profile (auto, deepseek, sonnet, …)
  --limit <n>        at most n tasks, 1–500 (default 50)
  --json             the tasks as a JSON array (the API's task rows; prompts cut to 200 chars)`,
  examples: [
    "vault tasks list --status failed,halted,needs_human --since 24h",
    "vault tasks list --json | jq -r '.[].id'",
  ],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      status: { type: "string", multiple: true },
      since: { type: "string" },
      profile: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
    });
    noPositionals(positionals);
    const wanted = statuses(values.status);
    const window = since(values.since);
    const limit = integer("--limit", values.limit, 1, 500);
    const q = new URLSearchParams();
    if (wanted) q.set("status", wanted.join(","));
    if (window) q.set("since", window);
    if (values.profile) q.set("profile", values.profile);
    if (limit) q.set("limit", String(limit));
    const { tasks } = await connect(values, io).get(`/api/tasks${q.size ? `?${q}` : ""}`, TaskList);
    if (values.json) {
      io.out(JSON.stringify(tasks, null, 2));
      return 0;
    }
    if (tasks.length === 0) {
      io.err("no tasks match");
      return 0;
    }
    io.out(renderTaskTable(tasks, io.now(), io.color));
    return 0;
  },
};

export function renderTaskTable(tasks: readonly TaskView[], now: number, color: boolean): string {
  // The replay column only when some task is a replay: most lists have none.
  const replays = tasks.some((t) => t.replayOf);
  const headers = [
    "ID",
    "STATUS",
    "ASKED",
    "RUNS",
    "COST",
    "CREATED",
    ...(replays ? ["REPLAY OF"] : []),
    "FLAGS",
    "PROMPT",
  ];
  const rows = tasks.map((t) => [
    t.id,
    status(t.status, color),
    asked(t),
    String(t.modelRuns ?? t.attempts),
    money(t.costUsd),
    age(t.createdAt, now),
    ...(replays ? [t.replayOf ?? ""] : []),
    t.flags.join(","),
    truncate(t.prompt, 40),
  ]);
  return table(headers, rows, [3, 4]);
}
