import { TaskId } from "@vault-mcp/contract";
import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import { readBreakers } from "../../../workflows/breakers.ts";
import { ackMonthFlag } from "../../services/breakers.ts";
import { raiseBudget } from "../../services/events.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

const Action = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("state") }),
  z.strictObject({ action: z.literal("thresholds") }),
  z.strictObject({ action: z.literal("ack"), note: z.string().max(2000).optional() }),
  z.strictObject({
    action: z.literal("raise"),
    taskId: TaskId,
    capUsd: z.number().positive().max(1000),
    note: z.string().max(2000).optional(),
  }),
]);

const shape = {
  action: z
    .enum(["state", "thresholds", "ack", "raise"])
    .describe(
      "state: spend vs limits now; thresholds: the limits; ack: acknowledge this month's $80 flag; raise: lift a halted task's cap so it resumes.",
    ),
  taskId: TaskId.optional().describe("raise: the halted task."),
  capUsd: z.number().optional().describe("raise: the new per-task cap in USD, above what it spent."),
  note: z.string().optional(),
};

export const registerBreakers: RegisterTool = (server, deps) => {
  server.registerTool(
    "breakers",
    {
      title: "Spend circuit breakers",
      description:
        "Spend limits that guard every dispatch: $2/task warns, $5/task halts the task (raise its cap to resume), $20/day blocks new dispatch until 00:00 UTC, $80/month flags every result until acknowledged. " +
        "'state' shows today's and this month's spend against the limits. Free.",
      inputSchema: z.strictObject(shape),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const a = parseInput(Action, args);
        switch (a.action) {
          case "state": {
            const s = await readBreakers(deps.env.DB, deps.config.breakers, deps.now());
            const text = `day $${s.day.spentUsd.toFixed(2)}/$${s.day.limitUsd} ${s.day.state}; month $${s.month.spentUsd.toFixed(2)}/$${s.month.limitUsd} ${s.month.state}${s.flagged ? " (flag not acknowledged)" : ""}`;
            return ok(text, { ...s, thresholds: deps.config.breakers });
          }
          case "thresholds":
            return ok(JSON.stringify(deps.config.breakers), { ...deps.config.breakers });
          case "ack": {
            const r = await ackMonthFlag(deps.env.DB, deps.config, a.note, "orchestrator", deps.now());
            return ok("monthly flag acknowledged", r);
          }
          case "raise": {
            const r = await raiseBudget(
              deps.env,
              a.taskId,
              { capUsd: a.capUsd, actor: "orchestrator", ...(a.note ? { note: a.note } : {}) },
              deps.now(),
            );
            return ok(`${a.taskId}: cap raised to $${a.capUsd}; it resumes`, { ...r });
          }
        }
      }),
  );
};
