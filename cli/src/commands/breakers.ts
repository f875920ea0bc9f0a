import { Acknowledged, BreakersView, BreakerVerification, DecisionSent, type SpendCheck } from "@vault-mcp/contract";
import { actor } from "../actor.ts";
import { noPositionals, parseFlags, positive, taskId, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { money, paint, table } from "../format.ts";
import { orUnknownTask } from "../http.ts";

export const breakers: Command = {
  name: "breakers",
  summary:
    "Show spend against the circuit breakers; check the totals against the stages; acknowledge the monthly flag; raise a halted task's cap.",
  usage: [
    "breakers [--json]",
    "breakers --verify [--json]",
    "breakers --ack [--note <text>]",
    "breakers --raise <id> --cap <usd> [--note <text>]",
  ],
  flags: `  --verify         recompute today's and this month's spend from the stages and compare it with the
                   running totals the breakers use; exit 1 on any drift (docs/BREAKERS.md)
  --ack            acknowledge this month's spend flag (it stays on results and /health until then)
  --raise <id>     raise the cap of a halted task so it resumes
  --cap <usd>      with --raise: the new cap; it must exceed what the task has spent
  --note <text>    recorded with the decision
  --json           the API's answer as JSON`,
  examples: [
    "vault breakers",
    "vault breakers --verify",
    "vault breakers --raise t-20261124-1530-ab12cd --cap 10 --note 'large refactor'",
  ],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      ack: { type: "boolean" },
      verify: { type: "boolean" },
      raise: { type: "string" },
      cap: { type: "string" },
      note: { type: "string" },
      json: { type: "boolean" },
    });
    noPositionals(positionals);
    const actions = [
      values.ack && "--ack",
      values.raise !== undefined && "--raise",
      values.verify && "--verify",
    ].filter(Boolean);
    if (actions.length > 1) throw new UsageError(`${actions.join(" and ")} are separate actions; give one`);
    if (values.cap !== undefined && values.raise === undefined) throw new UsageError("--cap goes with --raise <id>");
    if (values.note !== undefined && !values.ack && values.raise === undefined)
      throw new UsageError("--note goes with --ack or --raise");
    const note = values.note ? { note: values.note } : {};

    if (values.raise !== undefined) {
      const id = taskId(values.raise, "--raise a task id");
      const cap = positive("--cap", values.cap, 1000);
      if (cap === undefined) throw new UsageError("--raise needs --cap <usd>, e.g. --cap 10");
      const done = await connect(values, io)
        .post(`/api/tasks/${id}/budget`, { capUsd: cap, actor: actor(io.env), ...note }, DecisionSent)
        .catch(orUnknownTask(id));
      if (values.json) io.out(JSON.stringify(done, null, 2));
      else io.out(`${id}: cap raised to ${money(cap)}; the task resumes (decision ${done.decisionId})`);
      return 0;
    }
    if (values.ack) {
      const done = await connect(values, io).post("/api/breakers/ack", { actor: actor(io.env), ...note }, Acknowledged);
      if (values.json) io.out(JSON.stringify(done, null, 2));
      else io.out("this month's spend flag is acknowledged");
      return 0;
    }
    if (values.verify) {
      const v = await connect(values, io).get("/api/breakers/verify", BreakerVerification);
      if (values.json) io.out(JSON.stringify(v, null, 2));
      else io.out(renderVerification(v, io.color));
      if (v.drift) {
        const scopes = [v.day, v.month].filter((p) => p.drift).map((p) => p.scope);
        io.err(`vault: the breaker totals drift from the stages (${scopes.join(", ")}); see docs/BREAKERS.md`);
        return 1;
      }
      return 0;
    }
    const b = await connect(values, io).get("/api/breakers", BreakersView);
    if (values.json) {
      io.out(JSON.stringify(b, null, 2));
      return 0;
    }
    io.out(renderBreakers(b, io.color));
    return 0;
  },
};

export function renderBreakers(b: BreakersView, color: boolean): string {
  const dayState = b.blocked ? paint("BLOCKED until 00:00 UTC", "bad", color) : b.day.state;
  const monthState = b.flagged
    ? paint("FLAGGED: vault breakers --ack", "warn", color)
    : b.month.acknowledgedAt
      ? "flag acknowledged"
      : b.month.state;
  const lines = [
    table(
      ["PERIOD", "SPENT", "LIMIT", "RUNS", "STATE"],
      [
        ["today", money(b.day.spentUsd), money(b.day.limitUsd), String(b.day.runs), dayState],
        ["month", money(b.month.spentUsd), money(b.month.limitUsd), String(b.month.runs), monthState],
      ],
      [1, 2, 3],
    ),
  ];
  if (b.thresholds)
    lines.push(
      paint(
        `per task: warns at ${money(b.thresholds.taskWarnUsd)}, halts at ${money(b.thresholds.taskHaltUsd)} (vault breakers --raise <id> --cap <usd>)`,
        "dim",
        color,
      ),
    );
  return lines.join("\n");
}

/** Enough digits to show a drift just above the micro-dollar tolerance. */
function usd(n: number): string {
  const digits = Math.abs(n).toFixed(6);
  return `${n < 0 && Number(digits) > 0 ? "-" : ""}$${digits}`;
}

export function renderVerification(v: BreakerVerification, color: boolean): string {
  const row = (name: string, p: SpendCheck) => [
    name,
    p.scope,
    usd(p.recordedUsd),
    usd(p.computedUsd),
    usd(p.diffUsd),
    `${p.recordedRuns}/${p.computedRuns}`,
    p.drift ? paint("DRIFT", "bad", color) : "ok",
  ];
  return [
    table(
      ["PERIOD", "SCOPE", "RECORDED", "FROM STAGES", "DIFF", "RUNS", "CHECK"],
      [row("today", v.day), row("month", v.month)],
      [2, 3, 4, 5],
    ),
    paint(
      v.drift
        ? "recorded: circuit_breaker's running totals; from stages: SUM(cost_usd) and COUNT(*) over the UTC period"
        : "the running totals match the stages",
      "dim",
      color,
    ),
  ].join("\n");
}
