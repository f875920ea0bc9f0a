import { TaskId } from "@vault-mcp/contract";
import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import { BudgetEvent, HumanEvent } from "../../../workflows/params.ts";
import { decide, raiseBudget } from "../../services/events.ts";
import { hasWriteUp, WRITE_UP_NEEDS, WriteUpFields, writeUp } from "../../services/records.ts";
import { closeTask, createTask, setSpec, TaskInit } from "../../services/tasks.ts";
import { guarded, ok, optionalFields, type RegisterTool } from "../tool-kit.ts";

/** The real validation: one strict schema per action. */
const Action = z.discriminatedUnion("action", [
  TaskInit.extend({ action: z.literal("init") }),
  z.strictObject({ action: z.literal("spec"), taskId: TaskId, spec: z.string().min(1).max(100_000) }),
  z.strictObject({ action: z.literal("write"), taskId: TaskId, ...WriteUpFields }).refine(hasWriteUp, WRITE_UP_NEEDS),
  z.strictObject({ action: z.literal("close"), taskId: TaskId, note: z.string().max(20_000).optional() }),
  z
    .strictObject({
      action: z.literal("decide"),
      taskId: TaskId,
      human: HumanEvent.optional(),
      budget: BudgetEvent.optional(),
    })
    .refine((a) => (a.human === undefined) !== (a.budget === undefined), {
      message: "give exactly one of 'human' (for a needs_human task) or 'budget' (for a halted task)",
    }),
]);

// A flat object schema for clients (MCP wants type: object at the top); the union above validates.
const shape = {
  action: z
    .enum(["init", "spec", "write", "close", "decide"])
    .describe("init → spec → (execute) → write → close; decide answers a halted or human-escalated task."),
  taskId: TaskId.optional().describe("Required for every action but init."),
  ...optionalFields(TaskInit.shape),
  spec: z.string().optional().describe("spec: the task's specification text."),
  ...WriteUpFields,
  note: z.string().optional().describe("close: why it is closed."),
  human: HumanEvent.optional().describe(
    "decide on a needs_human task: {decision: approve|reject|retry, profile?, instructions?}.",
  ),
  budget: BudgetEvent.optional().describe("decide on a halted task: {capUsd} above what it spent."),
};

export const registerWorkflow: RegisterTool = (server, deps) => {
  server.registerTool(
    "workflow",
    {
      title: "Manage a task's lifecycle",
      description:
        "Task lifecycle around execute: 'init' registers a task (prompt, repo, …) without running it and returns its taskId (run it later with execute {taskId}); 'spec' stores a specification; " +
        "'write' records your review or write-up (content) and/or a checkpoint {label, state}; 'close' ends a finished task; 'decide' answers a task waiting on a human " +
        "(needs_human: human {decision: approve|reject|retry, profile?}) or raises the cap of a halted task (budget {capUsd}). " +
        "Free: no model runs, except that 'decide' with retry or a raised budget resumes a paid run. Returns the taskId and the ids it wrote.",
      inputSchema: z.strictObject(shape),
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
            const task = await setSpec(deps.env.DB, a.taskId, a.spec, now);
            return ok(`${task.id} spec saved`, { taskId: task.id, status: task.status });
          }
          case "write": {
            const { action: _action, taskId, ...up } = a;
            const out = await writeUp(deps.env.DB, taskId, up, now);
            const ids = [
              out.transcriptId && `note ${out.transcriptId}`,
              out.checkpointId && `checkpoint ${out.checkpointId}`,
            ]
              .filter(Boolean)
              .join(", ");
            return ok(`${taskId} write-up saved (${ids})`, { ...out });
          }
          case "close": {
            const task = await closeTask(deps.env.DB, a.taskId, a.note, "orchestrator", now);
            return ok(`${task.id} closed`, { taskId: task.id, status: task.status });
          }
          case "decide": {
            const out = a.human
              ? await decide(deps.env, a.taskId, a.human, now)
              : await raiseBudget(deps.env, a.taskId, a.budget as BudgetEvent, now);
            return ok(`${a.taskId}: decision sent (${out.decisionId})`, { ...out });
          }
        }
      }),
  );
};
