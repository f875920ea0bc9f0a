import { TaskId } from "@vault-mcp/contract";
import { z } from "zod";
import { AppError, parseInput } from "../../../core/errors.ts";
import { usd } from "../../../workflows/chooser-explain.ts";
import { KindFilter, KindText } from "../../../workflows/task-kind.ts";
import { consensusReport } from "../../services/consensus.ts";
import { diffText, TaskDiffQuery, taskDiff } from "../../services/diff.ts";
import { getTaskState } from "../../services/execute.ts";
import { type ChooserView, chooserView, listModelStats } from "../../services/stats.ts";
import { taskDetail } from "../../services/tasks.ts";
import { flatInput } from "../flat-input.ts";
import { outcomeContent, outcomeText } from "../outcome.ts";
import { brief, guarded, ok, type RegisterTool } from "../tool-kit.ts";

const TaskArg = TaskId.describe("The task, for summary, state and consensus.");

const Query = z.discriminatedUnion("query", [
  z.strictObject({ query: z.literal("summary"), taskId: TaskArg }),
  z.strictObject({ query: z.literal("state"), taskId: TaskArg }),
  z.strictObject({ query: z.literal("consensus"), taskId: TaskArg }),
  TaskDiffQuery.extend({ query: z.literal("diff"), taskId: TaskArg }),
  z.strictObject({ query: z.literal("stats"), kind: KindFilter }),
  z.strictObject({ query: z.literal("chooser"), kind: KindText }),
]);

const Input = flatInput(
  "query",
  Query,
  "state: a task's status and result (poll after execute said running); summary: its stages and cost; consensus: the two-model comparison; diff: the change to review, a page at a time (cursor, side); stats: per-profile figures; chooser: where an auto task of a kind would start, and why.",
);

export const registerWorkflowQuery: RegisterTool = (server, deps) => {
  server.registerTool(
    "workflow_query",
    {
      title: "Ask about tasks and models",
      description:
        "Read-only questions, free: 'state' returns a task's status and, once finished, its compressed result (use it after execute answered running); " +
        "'summary' lists every stage (profile, status, cost, tokens, latency); 'consensus' returns the agree/partial/disagree report with its diff Mermaid; " +
        "'diff' returns the unified diff of the task's succeeded attempt against the commit it started from: the diffstat on the first page, then pages of at most 64 KB (pass back `cursor` for the next; side 'b' is a consensus attempt's second model); review it before workflow close; " +
        "'stats' shows per-profile success, cost and latency; 'chooser' shows the table the chooser would use now for a task kind (success, cost per solved task per start), where an auto task would start and where its climb would stop for a human, and why.",
      inputSchema: Input,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const q = parseInput(Query, args);
        switch (q.query) {
          case "state": {
            const s = await getTaskState(deps.env, q.taskId);
            if (!s) throw new AppError("not_found", `no task '${q.taskId}'`);
            return ok(outcomeText(s), outcomeContent(s));
          }
          case "summary": {
            const d = await taskDetail(deps.env.DB, q.taskId);
            const lines = d.stages.map(
              (s) =>
                `#${s.attempt} ${s.profile} ${s.status} $${s.costUsd.toFixed(4)} ${s.tokensIn}/${s.tokensOut} tok ${s.latencyMs} ms${s.errorKind ? ` ${s.errorKind}` : ""}`,
            );
            const text = [
              `${d.task.id} ${d.task.status} total $${d.task.costUsd.toFixed(4)}${d.task.flags.length ? ` [${d.task.flags.join(", ")}]` : ""}`,
              ...lines,
            ].join("\n");
            return ok(text, {
              task: { ...d.task, prompt: d.task.prompt.slice(0, 500) },
              stages: d.stages,
              decisions: d.decisions,
            });
          }
          case "diff": {
            const { query: _query, ...diff } = q;
            const page = await taskDiff(deps.env, deps.config, diff);
            return ok(diffText(page), { ...page });
          }
          case "consensus": {
            const report = await consensusReport(deps.env.DB, q.taskId);
            return ok(brief(report), { report });
          }
          case "stats": {
            const rows = await listModelStats(deps.env.DB, q.kind);
            return ok(brief(rows), { stats: rows });
          }
          case "chooser": {
            const view = await chooserView(deps.env.DB, q.kind, deps.config, deps.now());
            return ok(chooserText(view), { ...view });
          }
        }
      }),
  );
};

/** The explanation, then one line per start: what the chooser weighed. */
function chooserText(v: ChooserView): string {
  const pct = (x: number) => `${Math.round(100 * x)} %`;
  const rows = v.table.map(
    (r) =>
      `${r.profile}: ${r.successes}/${r.runs} runs, success ${pct(r.success)}; starting here ${usd(r.costPerTaskUsd)} per task, solves ${pct(r.solveRate)}, ${usd(r.costPerSolvedUsd)} per solved task${r.stopAfter ? `, a human after ${r.stopAfter}` : ""}`,
  );
  return [`${v.explanation} (worth of a solve: ${usd(v.worthUsd)})`, ...rows].join("\n");
}
