/** GET /health (open): the contract's ExecutorHealth, plus the agent sandbox's state. */
import type { ServerResponse } from "node:http";
import type { ExecutorHealth } from "@vault-mcp/contract";
import { healthStatus, VERSION } from "../../health.ts";
import { SANDBOX_OFF, type SandboxStatus } from "../../sandbox/sandbox.ts";
import { send } from "../http.ts";
import type { RouteContext } from "./context.ts";

export function getHealth(ctx: RouteContext, res: ServerResponse): void {
  const ready = ctx.readiness();
  const { queue } = ctx;
  const body: ExecutorHealth & { sandbox: SandboxStatus } = {
    ...healthStatus(ctx.draining() || ctx.drained(), ready.profiles),
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
    running: queue.running,
    queued: queue.queued,
    capacity: queue.capacity,
    maxQueue: queue.maxQueue,
    clis: ctx.clis(),
    profiles: ready.profiles,
    consensus: ready.consensus,
    direct: { ...ctx.direct },
    disk: ctx.disk(),
    sandbox: ctx.sandbox?.() ?? SANDBOX_OFF,
  };
  send(res, 200, body);
}
