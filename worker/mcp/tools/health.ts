import { health } from "../../services/health.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

export const registerHealth: RegisterTool = (server, deps) => {
  server.registerTool(
    "health",
    {
      title: "System health",
      description: "Whether D1 and the executor are reachable, and the spend breakers' state. Free; call it when a task fails for reasons outside the code.",
      inputSchema: {},
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () =>
      guarded(async () => {
        const h = await health(deps.env, deps.config, deps.now());
        return ok(`${h.status}: d1 ${h.d1.reachable ? "up" : "down"}, executor ${h.executor.reachable ? "up" : "down"}${h.breakers?.blocked ? ", daily block" : ""}${h.breakers?.flagged ? ", monthly flag" : ""}`, { ...h });
      }),
  );
};
