import { type ReplayItem, ReplayReport } from "@vault-mcp/contract";
import { integer, parseFlags, positive, profile, since, statuses, taskId, UsageError } from "../args.ts";
import { type Command, connect, type Io } from "../command.ts";
import { money, paint, status, table, truncate } from "../format.ts";
import { type Api, orUnknownTask } from "../http.ts";
import { isFailure, type ReplayOptions, type ReplayResult, startAndFollow } from "../replay-run.ts";

/** The server's default and maximum for a bulk replay's `limit`. */
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

export const replay: Command = {
  name: "replay",
  summary: "Replay failed tasks with their original params.",
  about: `Each replay is a new task (and workflow instance) with the original's prompt, repo, ref, verify
command, budget and spec, plus the instructions of its last human decision, linked to it by
replay_of and recorded in its decisions. A halted or needs_human task whose workflow instance still
waits (for a budget raise or a decision) is skipped, since both would run; --include-waiting
terminates that instance first. The command shows a line per state change while replays run (on
stderr), then a summary table, and exits 1 if any replay did not succeed. It is idempotent: a task
replayed before is skipped, so running the same command twice starts nothing new — unless --force.
Ctrl-C stops following; replays already started keep running on the server.`,
  usage: [
    "replay <id>… [--from-tier <profile>] [--include-waiting] [--budget <usd>] [--dry-run] [--force] [--json]",
    "replay --failed --since <window> [--status <s,…>] [--profile <name>] [--from-tier <profile>] [--include-waiting] [--budget <usd>] [--limit <n>] [--dry-run] [--concurrency <n>] [--force] [--json]",
  ],
  flags: `  --failed               replay the tasks that ended badly (failed, halted, blocked, needs_human)
                         created within --since; replays themselves are left out
  --since <window>       with --failed: 90m, 24h, 7d
  --status <s,…>         with --failed: only these statuses (default: all four above)
  --profile <name>       with --failed: only tasks that asked for this profile (auto, sonnet, …)
  --limit <n>            with --failed: consider the newest n matching tasks, 1–${MAX_LIMIT} (default ${DEFAULT_LIMIT})
  --from-tier <profile>  start the replays at this profile instead of the original one
  --include-waiting      also replay tasks whose workflow instance still waits (halted, needs_human):
                         the original instance is terminated first (recorded in its decisions)
  --budget <usd>         the replays' budget: raises the shared cap of the original and its replays
                         (default: the original's)
  --dry-run              list what would be replayed; start nothing
  --force                replay tasks that were replayed before
  --concurrency <n>      replays running at once, 1–20 (default 4)
  --interval <seconds>   how often to poll a running replay (default 2)
  --json                 {dryRun, items: [{originalId, newTaskId, status, reason?, outcome?, costUsd?,
                         error?}], started, skipped, errors, succeeded, failed}; no progress lines`,
  examples: [
    "vault replay t-20261124-1530-ab12cd --from-tier sonnet",
    "vault replay --failed --since 24h --dry-run",
    "vault replay t-20261124-1530-ab12cd --include-waiting --budget 10",
    "vault replay --failed --since 24h --profile auto --concurrency 2 --json > replays.json",
  ],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      failed: { type: "boolean" },
      since: { type: "string" },
      status: { type: "string", multiple: true },
      profile: { type: "string" },
      limit: { type: "string" },
      "from-tier": { type: "string" },
      "include-waiting": { type: "boolean" },
      budget: { type: "string" },
      "dry-run": { type: "boolean" },
      force: { type: "boolean" },
      concurrency: { type: "string" },
      interval: { type: "string" },
      json: { type: "boolean" },
    });
    const ids = positionals.map((p) => taskId(p));
    const selectors = (["since", "status", "profile", "limit"] as const).filter((k) => values[k] !== undefined);
    if (ids.length > 0 && values.failed) throw new UsageError("give task ids or --failed, not both");
    if (ids.length === 0 && !values.failed) throw new UsageError("give a task id, or --failed --since <window>");
    if (ids.length > 0 && selectors.length > 0)
      throw new UsageError(`--${selectors[0]} selects tasks for --failed; it does not go with task ids`);
    if (values.failed && !values.since) throw new UsageError("--failed needs --since, e.g. --since 24h");
    const window = since(values.since);
    const wanted = statuses(values.status);
    const fromTier = profile("--from-tier", values["from-tier"]);
    const concurrency = integer("--concurrency", values.concurrency, 1, 20) ?? 4;
    const intervalMs = Math.round((positive("--interval", values.interval, 600) ?? 2) * 1000);
    const limit = integer("--limit", values.limit, 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
    const budgetUsd = positive("--budget", values.budget, 1000);
    const force = values.force === true;
    // What every request of this run carries: the plan (a dry run) must see what the starts will do.
    const options: ReplayOptions = {
      force,
      ...(values["include-waiting"] ? { includeWaiting: true } : {}),
      ...(budgetUsd !== undefined ? { budgetUsd } : {}),
      ...(fromTier ? { fromTier } : {}),
    };
    const json = values.json === true;
    const api = connect(values, io);

    // The plan is a dry run on the server, which knows what was replayed before.
    const plan: ReplayItem[] = [];
    if (ids.length > 0) {
      for (const id of ids) {
        plan.push(
          ...(
            await api
              .post("/api/replay", { ...options, taskId: id, dryRun: true }, ReplayReport)
              .catch(orUnknownTask(id))
          ).items,
        );
      }
    } else {
      const filter = {
        since: window,
        ...(wanted ? { status: wanted } : {}),
        ...(values.profile ? { profile: values.profile } : {}),
        limit,
        ...options,
        dryRun: true,
      };
      plan.push(...(await api.post("/api/replay", filter, ReplayReport)).items);
      if (plan.length >= limit && !json)
        io.err(`only the newest ${limit} matching tasks were considered; raise --limit (up to ${MAX_LIMIT}) for more`);
    }

    if (values["dry-run"]) return report(plan, { dryRun: true, json, io, fromTier });
    const todo = plan.filter((i) => i.status === "would_start").map((i) => i.originalId);
    const following = new Set<string>();
    const onSigint = () => {
      io.err(
        `interrupted; ${following.size ? `still running on the server: ${[...following].join(", ")} (vault tasks show <id>)` : "no replay was running"}`,
      );
      process.exit(130);
    };
    process.once("SIGINT", onSigint);
    let done: ReplayResult[];
    try {
      done = await follow(api, todo, { options, concurrency, intervalMs, json, io, following });
    } finally {
      process.off("SIGINT", onSigint);
    }
    const byId = new Map(done.map((r) => [r.originalId, r]));
    return report(
      plan.map((i) => byId.get(i.originalId) ?? i),
      { dryRun: false, json, io, fromTier },
    );
  },
};

function follow(
  api: Api,
  todo: string[],
  o: {
    options: ReplayOptions;
    concurrency: number;
    intervalMs: number;
    json: boolean;
    io: Io;
    following: Set<string>;
  },
) {
  return startAndFollow(api, todo, {
    options: o.options,
    concurrency: o.concurrency,
    intervalMs: o.intervalMs,
    sleep: o.io.sleep,
    progress: o.json ? undefined : o.io.err,
    onTrack: (id, finished) => (finished ? o.following.delete(id) : o.following.add(id)),
  });
}

function outcomeText(r: ReplayResult, fromTier: string | undefined, color: boolean): string {
  switch (r.status) {
    case "would_start":
      return `would replay${fromTier ? ` from ${fromTier}` : ""}${r.reason ? `; ${r.reason}` : ""}`;
    case "skipped":
      return paint(`skipped: ${r.reason ?? ""}`, "dim", color);
    case "error":
      return paint(`error: ${truncate(r.reason ?? "", 80)}`, "bad", color);
    case "started":
      return r.outcome
        ? `${status(r.outcome, color)}${r.outcome !== "succeeded" && r.error ? `: ${truncate(r.error, 70)}` : ""}`
        : paint(`unknown: ${r.error ?? ""}`, "bad", color);
  }
}

function report(
  items: ReplayResult[],
  o: { dryRun: boolean; json: boolean; io: Io; fromTier: string | undefined },
): number {
  const n = (pred: (r: ReplayResult) => boolean) => items.filter(pred).length;
  const counts = {
    started: n((r) => r.status === "started"),
    skipped: n((r) => r.status === "skipped"),
    errors: n((r) => r.status === "error"),
    succeeded: n((r) => r.outcome === "succeeded"),
    failed: n(isFailure),
  };
  if (o.json) {
    o.io.out(JSON.stringify({ dryRun: o.dryRun, items, ...counts }, null, 2));
    return counts.failed > 0 ? 1 : 0;
  }
  if (items.length === 0) {
    o.io.err("nothing to replay");
    return 0;
  }
  o.io.out(
    table(
      ["ORIGINAL", "REPLAY", o.dryRun ? "PLAN" : "OUTCOME", "COST"],
      items.map((r) => [
        r.originalId,
        r.newTaskId ?? "-",
        outcomeText(r, o.fromTier, o.io.color),
        r.costUsd === undefined ? "" : money(r.costUsd),
      ]),
    ),
  );
  const summary = o.dryRun
    ? `${n((r) => r.status === "would_start")} would be replayed, ${counts.skipped} skipped (dry run: nothing started)`
    : `${counts.started} replayed: ${counts.succeeded} succeeded, ${counts.started - counts.succeeded} did not · ${counts.skipped} skipped · ${counts.errors} error${counts.errors === 1 ? "" : "s"}`;
  o.io.out(paint(summary, counts.failed > 0 ? "bad" : "dim", o.io.color));
  return counts.failed > 0 ? 1 : 0;
}
