import { route } from "./router.ts";
import { scheduled } from "./scheduled.ts";

export { ExecuteWorkflow } from "../workflows/execute-workflow.ts";

export default {
  fetch: (request, env, ctx) => route(request, env, ctx),
  scheduled: (_controller, env, ctx) => ctx.waitUntil(scheduled(env)),
} satisfies ExportedHandler<Env>;
