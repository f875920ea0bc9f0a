import { introspectWorkflow } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { setExecutorFetch } from "../../workflows/executor-client.ts";
import { FakeExecutor } from "../workflows/fake-executor.ts";
import { loseCallbacks } from "../workflows/helpers.ts";

/**
 * An executor whose callback is lost and whose job is still running at the first poll: `execute`
 * then waits and polls, which is when it sends progress notifications. Dispose the returned
 * introspector (`await using`) to restore the workflow.
 */
export async function pollingExecutor() {
  setExecutorFetch(new FakeExecutor(() => ({ loseCallback: true, pollsBeforeDone: 1 })).fetch);
  const intro = await introspectWorkflow(env.EXECUTE_WORKFLOW);
  await intro.modifyAll(async (m) => {
    await m.disableRetryDelays();
    await loseCallbacks(m, "sonnet");
  });
  return intro;
}
