import { ReplayReport } from "@vault-mcp/contract";
import { parseInput } from "../../../core/errors.ts";
import { ReplayInput, ReplayShape, replay } from "../../services/replay.ts";
import { flatObject } from "../flat-input.ts";
import { brief, guarded, ok, type RegisterTool } from "../tool-kit.ts";

/** Built once per isolate: the server, and so this registration, is rebuilt for every MCP request. */
const Input = flatObject(ReplayShape);

export const registerReplay: RegisterTool = (server, deps) => {
  server.registerTool(
    "replay",
    {
      title: "Replay failed tasks",
      description:
        "Starts finished tasks again with their original params: one task by taskId, or in bulk every failed, halted, blocked or needs_human task created within 'since' (e.g. '24h'), " +
        "optionally filtered by profile and started from a given ladder tier (fromTier). Each replay is a new task linked to the original (replay_of) and logged as a decision; " +
        "replaying the same task again does nothing unless force. A replay carries the original's spec and the instructions of its last human decision; budgetUsd raises the shared cap of the original and its replays. " +
        "A halted or needs_human task whose workflow instance still waits is skipped (both would run) unless includeWaiting, which terminates the original instance first. " +
        "Use dryRun first to see what would start. Costs like execute for every task started; returns at once (poll each new taskId with workflow_query state).",
      inputSchema: Input,
      outputSchema: ReplayReport,
      // Destructive: with includeWaiting it terminates the original's waiting instance.
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    },
    async (args) =>
      guarded(async () => {
        const r = await replay(deps.env, parseInput(ReplayInput, args), deps.now(), deps.caller);
        return ok(
          `${r.dryRun ? "dry run: " : ""}${r.started} started, ${r.skipped} skipped, ${r.errors} errors\n${brief(r.items, 2000)}`,
          { ...r },
        );
      }),
  );
};
