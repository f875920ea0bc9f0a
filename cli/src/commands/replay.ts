import { parseArgs } from "node:util";
import { request, type Target } from "../client.ts";
import { money, table } from "../format.ts";
import { ReplayReport, State } from "../types.ts";
import { UsageError } from "./tasks.ts";

export const REPLAY_USAGE = `vault replay <id> [--force] [--json]
vault replay --failed --since 24h [--profile X] [--from-tier T] [--dry-run] [--concurrency N] [--force] [--json]`;

const TERMINAL = new Set(["succeeded", "failed", "halted", "blocked", "needs_human", "closed"]);

interface Row {
  original: string;
  replay: string | null;
  outcome: string;
  cost: number;
}

/**
 * Lists what to replay (a dry run on the server, which also knows what was replayed before), then
 * starts each replay by id, N at a time, and follows it to the end. The server's replay key makes a
 * second run of the same command start nothing.
 */
export async function replayCommand(t: Target, args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      failed: { type: "boolean" },
      since: { type: "string" },
      profile: { type: "string" },
      "from-tier": { type: "string" },
      "dry-run": { type: "boolean" },
      concurrency: { type: "string", default: "4" },
      force: { type: "boolean" },
      json: { type: "boolean" },
      "poll-ms": { type: "string", default: "1000" },
    },
  });
  const id = positionals[0];
  if (!id && !values.failed) throw new UsageError("give a task id, or --failed with --since");
  if (!id && !values.since) throw new UsageError("--failed needs --since (e.g. --since 24h)");
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 20) throw new UsageError("--concurrency is a whole number from 1 to 20");
  const filter = {
    ...(id ? { taskId: id } : { since: values.since }),
    ...(values.profile ? { profile: values.profile } : {}),
    ...(values["from-tier"] ? { fromTier: values["from-tier"] } : {}),
    ...(values.force ? { force: true } : {}),
  };
  const plan = ReplayReport.parse(await request(t, "POST", "/api/replay", { ...filter, dryRun: true }));
  const todo = plan.items.filter((i) => i.status === "would_start").map((i) => i.originalId);
  const rows: Row[] = plan.items.filter((i) => i.status !== "would_start").map((i) => ({ original: i.originalId, replay: i.newTaskId, outcome: i.status === "skipped" ? `skipped (${i.reason ?? ""})` : (i.reason ?? i.status), cost: 0 }));
  if (values["dry-run"]) {
    for (const o of todo) rows.push({ original: o, replay: null, outcome: "would replay", cost: 0 });
    return report(rows, Boolean(values.json), out, 0);
  }
  const pollMs = Number(values["poll-ms"]);
  const queue = [...todo];
  let failures = 0;
  const worker = async () => {
    for (let original = queue.shift(); original !== undefined; original = queue.shift()) {
      const started = ReplayReport.parse(await request(t, "POST", "/api/replay", { ...filter, taskId: original }));
      const item = started.items[0];
      if (!item || item.status !== "started" || !item.newTaskId) {
        rows.push({ original, replay: item?.newTaskId ?? null, outcome: item ? `${item.status}${item.reason ? ` (${item.reason})` : ""}` : "error", cost: 0 });
        if (item?.status === "error") failures += 1;
        continue;
      }
      if (!values.json) err(`${original} → ${item.newTaskId} started`);
      let last = "";
      for (;;) {
        const s = State.parse(await request(t, "GET", `/api/tasks/${item.newTaskId}/state`));
        if (s.status !== last && !values.json) err(`${item.newTaskId} ${s.status}`);
        last = s.status;
        if (TERMINAL.has(s.status)) {
          rows.push({ original, replay: item.newTaskId, outcome: s.status, cost: s.costUsd });
          if (s.status !== "succeeded") failures += 1;
          break;
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));
  return report(rows, Boolean(values.json), out, failures > 0 ? 1 : 0);
}

function report(rows: Row[], json: boolean, out: (s: string) => void, code: number): number {
  if (json) out(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) out("nothing to replay");
  else out(table(["ORIGINAL", "REPLAY", "OUTCOME", "COST"], rows.map((r) => [r.original, r.replay ?? "-", r.outcome, money(r.cost)])));
  return code;
}
