import { ExecuteOutcome } from "@vault-mcp/contract";
import { parseInput } from "../../../core/errors.ts";
import { ExecuteInput, startExecute } from "../../services/execute.ts";
import { outcomeContent, outcomeText } from "../outcome.ts";
import { stripControls } from "../safe-text.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

export const registerExecute: RegisterTool = (server, deps) => {
  server.registerTool(
    "execute",
    {
      title: "Run a coding task on an agent CLI",
      description:
        "Hands a self-contained coding task to a coding-agent CLI (claude, codex or gemini) in a fresh git worktree of an allowlisted repo on the executor VM. " +
        "profile 'auto' starts where the task's kind has been solved cheapest (at first the cheapest model) and climbs the ladder (DeepSeek → Gemini Flash → Gemini Pro → Sonnet → Opus → consensus → human) when a run or its verify command fails, handing over to a human where one more rung would cost more per solved task than the task's cap. " +
        "Costs real money: each run is priced; a task warns at $2 and halts at $5, and all dispatch stops for the day at $20. " +
        "Waits up to waitSeconds (default 20, max 45), sending progress notifications if you asked for them: returns the result as a small Mermaid diagram if done, " +
        "else {status:'running'} — then call workflow_query with query 'state' and the taskId. Not idempotent: each call starts a new task (unless taskId names an init'ed one).",
      inputSchema: ExecuteInput,
      outputSchema: ExecuteOutcome,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guarded(async () => {
        const input = parseInput(ExecuteInput, args);
        // Progress only reaches the client when it sent a token; server.ts then answers over SSE.
        const progressToken = extra._meta?.progressToken;
        const out = await startExecute(deps.env, input, {
          waitSeconds: input.waitSeconds,
          caller: deps.caller,
          onProgress:
            progressToken === undefined
              ? undefined
              : (p) =>
                  extra.sendNotification({
                    method: "notifications/progress",
                    params: {
                      progressToken,
                      progress: p.progress,
                      message: stripControls(p.message),
                      ...(p.total ? { total: p.total } : {}),
                    },
                  }),
        });
        return ok(outcomeText(out), outcomeContent(out));
      }),
  );
};
