import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import { ackMonthFlag, BreakerAck, BreakerRaise, breakersView } from "../../services/breakers.ts";
import { raiseBudget } from "../../services/events.ts";
import { flatInput } from "../flat-input.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

/** One strict schema per action: ack and raise are the ones the REST routes validate with. */
const Action = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("state") }),
  z.strictObject({ action: z.literal("thresholds") }),
  BreakerAck.extend({ action: z.literal("ack") }),
  BreakerRaise.extend({ action: z.literal("raise") }),
]);

const Input = flatInput(
  "action",
  Action,
  "state: spend vs limits now; thresholds: the limits; ack: acknowledge this month's $80 flag; raise: lift a halted task's cap so it resumes.",
);

export const registerBreakers: RegisterTool = (server, deps) => {
  server.registerTool(
    "breakers",
    {
      title: "Spend circuit breakers",
      description:
        "Spend limits that guard every dispatch: $2/task warns, $5/task halts the task (raise its cap to resume), $20/day blocks new dispatch until 00:00 UTC, $80/month flags every result until acknowledged. " +
        "'state' shows today's and this month's spend against the limits. Free.",
      inputSchema: Input,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const a = parseInput(Action, args);
        switch (a.action) {
          case "state": {
            const s = await breakersView(deps.env.DB, deps.config, deps.now());
            const text = `day $${s.day.spentUsd.toFixed(2)}/$${s.day.limitUsd} ${s.day.state}; month $${s.month.spentUsd.toFixed(2)}/$${s.month.limitUsd} ${s.month.state}${s.flagged ? " (flag not acknowledged)" : ""}`;
            return ok(text, { ...s });
          }
          case "thresholds":
            return ok(JSON.stringify(deps.config.breakers), { ...deps.config.breakers });
          case "ack": {
            const r = await ackMonthFlag(
              deps.env.DB,
              deps.config,
              { ...a, actor: a.actor ?? "orchestrator" },
              deps.now(),
            );
            return ok("monthly flag acknowledged", r);
          }
          case "raise": {
            const { action: _action, taskId, ...raise } = a;
            const r = await raiseBudget(
              deps.env,
              taskId,
              { ...raise, actor: raise.actor ?? "orchestrator" },
              deps.now(),
            );
            return ok(`${taskId}: cap raised to $${raise.capUsd}; it resumes`, { ...r });
          }
        }
      }),
  );
};
