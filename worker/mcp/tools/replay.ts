import { z } from "zod";
import { ReplayFields, ReplayReport, replay } from "../../services/replay.ts";
import { brief, guarded, ok, type RegisterTool } from "../tool-kit.ts";

export const registerReplay: RegisterTool = (server, deps) => {
  server.registerTool(
    "replay",
    {
      title: "Replay failed tasks",
      description:
        "Starts finished tasks again with their original params: one task by taskId, or in bulk every failed, halted, blocked or needs_human task created within 'since' (e.g. '24h'), " +
        "optionally filtered by profile and started from a given ladder tier (fromTier). Each replay is a new task linked to the original (replay_of) and logged as a decision; " +
        "replaying the same task again does nothing unless force. Use dryRun first to see what would start. Costs like execute for every task started; returns at once (poll each new taskId with workflow_query state).",
      inputSchema: z.strictObject(ReplayFields),
      outputSchema: ReplayReport.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args) =>
      guarded(async () => {
        const r = await replay(deps.env, args, deps.now());
        return ok(
          `${r.dryRun ? "dry run: " : ""}${r.started} started, ${r.skipped} skipped, ${r.errors} errors\n${brief(r.items, 2000)}`,
          { ...r },
        );
      }),
  );
};
