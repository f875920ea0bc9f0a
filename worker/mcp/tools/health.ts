import { HealthView } from "@vault-mcp/contract";
import { z } from "zod";
import { health } from "../../services/health.ts";
import { guarded, ok, type RegisterTool } from "../tool-kit.ts";

export const registerHealth: RegisterTool = (server, deps) => {
  server.registerTool(
    "health",
    {
      title: "System health",
      description:
        "Whether D1 and the executor VM are reachable (with their latency and the executor's queue), which profiles can run (and for each that cannot, what to configure), and the spend breakers: today's and this month's spend against the limits, " +
        "whether new dispatch is blocked for the day and whether the monthly flag awaits acknowledgement. Free and read-only; call it before a large batch or when a task fails for reasons outside the code.",
      inputSchema: z.strictObject({}),
      outputSchema: HealthView,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async () =>
      guarded(async () => {
        const h = await health(deps.env, deps.config, deps.now());
        const text = `${h.status}${h.reasons.length ? ` (${h.reasons.join("; ")})` : ""}: d1 ${h.d1.reachable ? "up" : "down"}, executor ${h.executor.reachable ? "up" : "down"}${h.breakers?.blocked ? ", daily block" : ""}${h.breakers?.flagged ? ", monthly flag" : ""}`;
        const profiles = Object.entries(h.executor.profiles ?? {});
        const ready = profiles.filter(([, p]) => p.ready).map(([name]) => name);
        const notReady = profiles
          .filter(([, p]) => !p.ready)
          .map(([name, p]) => `${name} (${p.missing ?? "not ready"})`);
        const readiness = profiles.length
          ? `\nready: ${ready.join(", ") || "none"}${notReady.length ? `; not ready: ${notReady.join("; ")}` : ""}`
          : "";
        return ok(text + readiness, { ...h });
      }),
  );
};
