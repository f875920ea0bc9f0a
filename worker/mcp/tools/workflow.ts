import { TaskId } from "@vault-mcp/contract";
import { z } from "zod";
import { AppError, parseInput } from "../../../core/errors.ts";
import { BudgetEvent, HumanEvent } from "../../../workflows/params.ts";
import { closeWithDiscard, redeliver, TaskDeliver } from "../../services/delivery.ts";
import { decide, raiseBudget } from "../../services/events.ts";
import { hasWriteUp, WRITE_UP_NEEDS, WriteUpShape, writeUp } from "../../services/records.ts";
import {
  createTask,
  EXECUTOR_WITH_PROFILE,
  executorFitsProfile,
  setSpec,
  TaskClose,
  TaskFields,
  TaskSpec,
} from "../../services/tasks.ts";
import { flatInput } from "../flat-input.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

/** One strict schema per action: the same ones the REST routes validate with. */
const Action = z.discriminatedUnion("action", [
  TaskFields.extend({ action: z.literal("init") }).refine(executorFitsProfile, EXECUTOR_WITH_PROFILE),
  TaskSpec.extend({ action: z.literal("spec") }),
  WriteUpShape.extend({ action: z.literal("write") }).refine(hasWriteUp, WRITE_UP_NEEDS),
  TaskClose.extend({ action: z.literal("close") }),
  TaskDeliver.extend({ action: z.literal("deliver") }),
  z
    .strictObject({
      action: z.literal("decide"),
      taskId: TaskId,
      human: HumanEvent.optional().describe(
        "decide on a needs_human task: {decision: approve|reject|retry, profile?, instructions?}.",
      ),
      budget: BudgetEvent.optional().describe("decide on a halted task: {capUsd} above what it spent."),
    })
    .refine((a) => (a.human === undefined) !== (a.budget === undefined), {
      message: "give exactly one of 'human' (for a needs_human task) or 'budget' (for a halted task)",
    }),
]);

const Input = flatInput(
  "action",
  Action,
  "init → spec → (execute) → write → close; decide answers a halted or human-escalated task; deliver pushes a succeeded task's work again (after a failed delivery). taskId is required for every action but init.",
);

export const registerWorkflow: RegisterTool = (server, deps) => {
  server.registerTool(
    "workflow",
    {
      title: "Manage a task's lifecycle",
      description:
        "Task lifecycle around execute: 'init' registers a task (prompt, repo, …) without running it and returns its taskId (run it later with execute {taskId}); 'spec' stores a specification the agent gets with the prompt; " +
        "'write' records your review or write-up (content) and/or a checkpoint {label, state}; 'close' ends a finished task (with discard: true it also closes the task's pull request and deletes its branch; a plain close leaves both); " +
        "'deliver' pushes a succeeded task's work again, e.g. after its delivery failed (flag delivery_failed) and the cause was fixed (deliver: push|pr overrides); 'decide' answers a task waiting on a human " +
        "(needs_human: human {decision: approve|reject|retry, profile?}) or raises the cap of a halted task (budget {capUsd}). " +
        "Free: no model runs, except that 'decide' with retry or a raised budget resumes a paid run. Returns the taskId and the ids it wrote.",
      inputSchema: Input,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const a = parseInput(Action, args);
        const now = deps.now();
        switch (a.action) {
          case "init": {
            const { action: _action, ...init } = a;
            const task = await createTask(deps.env.DB, init, now);
            return ok(`${task.id} init; run it with execute {taskId: '${task.id}'}`, {
              taskId: task.id,
              status: task.status,
            });
          }
          case "spec": {
            const task = await setSpec(deps.env.DB, a, now);
            return ok(`${task.id} spec saved`, { taskId: task.id, status: task.status });
          }
          case "write": {
            const { action: _action, ...up } = a;
            const out = await writeUp(deps.env.DB, up, now);
            const ids = [
              out.transcriptId && `note ${out.transcriptId}`,
              out.checkpointId && `checkpoint ${out.checkpointId}`,
            ]
              .filter(Boolean)
              .join(", ");
            return ok(`${up.taskId} write-up saved (${ids})`, { ...out });
          }
          case "close": {
            const { action: _action, ...close } = a;
            const task = await closeWithDiscard(
              deps.env,
              deps.config,
              { ...close, actor: close.actor ?? "orchestrator" },
              now,
            );
            const discarded = close.discard ? " (its pull request closed and its branch deleted)" : "";
            return ok(`${task.id} closed${discarded}`, { taskId: task.id, status: task.status });
          }
          case "deliver": {
            const { action: _action, ...deliver } = a;
            const out = await redeliver(deps.env, deps.config, deliver, now);
            const c = out.change;
            return ok(
              `${out.taskId} delivered: ${c.branch} @ ${c.commit.slice(0, 12)}${c.prUrl ? ` ${c.prUrl}` : ""}`,
              {
                ...out,
              },
            );
          }
          case "decide": {
            let out: { decisionId: string };
            if (a.human) out = await decide(deps.env, a.taskId, a.human, now);
            else if (a.budget) out = await raiseBudget(deps.env, a.taskId, a.budget, now);
            else throw new AppError("invalid_input", "give exactly one of 'human' or 'budget'");
            return ok(`${a.taskId}: decision sent (${out.decisionId})`, { ...out });
          }
        }
      }),
  );
};
