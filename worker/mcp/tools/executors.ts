import { z } from "zod";
import { parseInput } from "../../../core/errors.ts";
import { drainExecutor, ExecutorTarget, listExecutors, resumeExecutor } from "../../services/executors.ts";
import { flatInput } from "../flat-input.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

/** One strict schema per action: drain and resume take the same target as their REST routes. */
const Action = z.discriminatedUnion("action", [
  z.strictObject({ action: z.literal("list") }),
  ExecutorTarget.extend({ action: z.literal("drain") }),
  ExecutorTarget.extend({ action: z.literal("resume") }),
]);

const Input = flatInput(
  "action",
  Action,
  "list: every executor of the pool; drain: send it no new job (running ones finish); resume: send it jobs again.",
);

const ago = (ms: number) => (ms < 90_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

export const registerExecutors: RegisterTool = (server, deps) => {
  server.registerTool(
    "executors",
    {
      title: "Executor pool",
      description:
        "The VMs that run the agent CLIs. 'list' shows each executor's state (active or draining), whether its heartbeat is fresh, its slots and running jobs, the repos it holds, which profiles it can run, its version and last heartbeat. " +
        "'drain' stops sending it new jobs (its running jobs finish), e.g. before replacing the VM; 'resume' undoes it. Free.",
      inputSchema: Input,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) =>
      guarded(async () => {
        const a = parseInput(Action, args);
        const now = deps.now();
        switch (a.action) {
          case "list": {
            const l = await listExecutors(deps.env.DB, deps.config, now);
            const lines = l.executors.map(
              (e) =>
                `${e.id} ${e.state}${e.fresh ? "" : " (stale)"}${e.stopping ? " (stopping)" : ""}: ${e.running.length}/${e.capacity ?? "?"} running, repos ${e.repos.join(",") || "-"}, ready ${e.readyProfiles.join(",") || "-"}${e.lastHeartbeatAt === null ? "" : `, heartbeat ${ago(now - e.lastHeartbeatAt)} ago`}`,
            );
            return ok(lines.join("\n"), { ...l });
          }
          case "drain": {
            const r = await drainExecutor(deps.env.DB, { id: a.id }, now);
            return ok(`${r.id}: draining; ${r.running.length} running job(s) finish, no new job goes there`, { ...r });
          }
          case "resume": {
            const r = await resumeExecutor(deps.env.DB, { id: a.id }, now);
            return ok(`${r.id}: active; it takes jobs again`, { ...r });
          }
        }
      }),
  );
};
