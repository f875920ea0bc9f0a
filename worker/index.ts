import { route } from "./router.ts";

export { ExecuteWorkflow } from "../workflows/execute-workflow.ts";

export default {
  fetch: (request, env, ctx) => route(request, env, ctx),
} satisfies ExportedHandler<Env>;
