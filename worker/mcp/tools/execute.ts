import { ExecuteInput } from "../../../workflows/params.ts";
import { startExecute } from "../../../workflows/start.ts";
import { parseInput } from "../../errors.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

export const registerExecute: RegisterTool = (server, deps) => {
  server.registerTool(
    "execute",
    {
      title: "Run a coding task on an agent CLI",
      description:
        "Hands a self-contained coding task to a coding-agent CLI (claude, codex or gemini) in a fresh git worktree of an allowlisted repo on the executor VM. " +
        "profile 'auto' starts at the cheapest model and climbs the ladder (DeepSeek → Gemini Flash → Gemini Pro → Sonnet → Opus → consensus → human) when a run or its verify command fails. " +
        "Costs real money: each run is priced; a task warns at $2 and halts at $5, and all dispatch stops for the day at $20. " +
        "Waits up to waitSeconds (default 20, max 45): returns the result as a small Mermaid diagram if done, else {status:'running'} — then call workflow_query with query 'state' and the taskId.",
      inputSchema: ExecuteInput.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, extra) =>
      guarded(async () => {
        const input = parseInput(ExecuteInput, args);
        const progressToken = extra._meta?.progressToken;
        const out = await startExecute(deps.env, input, {
          waitSeconds: input.waitSeconds,
          onProgress:
            progressToken === undefined
              ? undefined
              : (p) =>
                  extra.sendNotification({
                    method: "notifications/progress",
                    params: { progressToken, progress: p.progress, message: p.message, ...(p.total ? { total: p.total } : {}) },
                  }),
        });
        const head = `${out.taskId} ${out.status}${out.flags.length ? ` [${out.flags.join(", ")}]` : ""} $${out.costUsd.toFixed(4)}`;
        const body = out.result ?? out.progress ?? out.error ?? "";
        return ok(`${head}\n${body}`, { ...out });
      }),
  );
};
