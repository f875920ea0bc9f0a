import { ReplayInput, replay } from "../../services/replay.ts";
import { brief, guarded, ok, type RegisterTool } from "../tool-kit.ts";

export const registerReplay: RegisterTool = (server, deps) => {
  server.registerTool(
    "replay",
    {
      title: "Replay failed tasks",
      description:
        "Starts failed, halted, blocked or needs_human tasks again with their original params (one task by taskId, or every match since a window like '24h'), optionally from a given ladder tier. " +
        "Each replay is a new task linked to the original; replaying the same task twice does nothing unless force. dryRun lists what would run. Costs like execute.",
      inputSchema: ReplayInput.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    async (args) =>
      guarded(async () => {
        const r = await replay(deps.env, args, deps.now());
        return ok(`${r.dryRun ? "dry run: " : ""}${r.started} started, ${r.skipped} skipped, ${r.errors} errors\n${brief(r.items, 2000)}`, { ...r });
      }),
  );
};
