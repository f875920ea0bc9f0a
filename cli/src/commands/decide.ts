import { DecisionSent, TaskState } from "@vault-mcp/contract";
import { actor } from "../actor.ts";
import { parseFlags, profile, taskId, UsageError } from "../args.ts";
import { type Command, connect } from "../command.ts";
import { orUnknownTask } from "../http.ts";

export const decide: Command = {
  name: "decide",
  summary: "Answer a task that waits for a human (status needs_human).",
  about: `A task reaches needs_human when every rung of the ladder failed. --approve accepts it as it is,
--reject ends it failed, --retry-with runs it again on that profile (with --note appended to the
prompt). The decision is recorded with your user name.`,
  usage: ["decide <id> --approve | --reject | --retry-with <profile> [--note <text>] [--json]"],
  flags: `  --approve               accept the task as it is (it ends succeeded)
  --reject                end it failed
  --retry-with <profile>  run it again on this profile: deepseek, gemini-flash, gemini-pro, sonnet,
                          opus, consensus
  --note <text>           recorded with the decision; on --retry-with also appended to the prompt
  --json                  the API's answer as JSON: {taskId, decisionId}`,
  examples: ["vault decide t-20261124-1530-ab12cd --retry-with opus --note 'keep the public API unchanged'"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      approve: { type: "boolean" },
      reject: { type: "boolean" },
      "retry-with": { type: "string" },
      note: { type: "string" },
      json: { type: "boolean" },
    });
    if (positionals.length > 1) throw new UsageError(`decide takes one task id, not ${positionals.length}`);
    const id = taskId(positionals[0]);
    const chosen = [values.approve === true, values.reject === true, values["retry-with"] !== undefined].filter(
      Boolean,
    ).length;
    if (chosen !== 1) throw new UsageError("give exactly one of --approve, --reject, --retry-with <profile>");
    const retryWith = profile("--retry-with", values["retry-with"]);
    const decision = values.approve ? "approve" : values.reject ? "reject" : "retry";
    const api = connect(values, io);
    // Name the wait being answered: run twice (a retried script), the second answer is refused instead
    // of answering the task's next wait.
    const state = await api.get(`/api/tasks/${id}/state`, TaskState).catch(orUnknownTask(id));
    const done = await api
      .post(
        `/api/tasks/${id}/decide`,
        {
          decision,
          actor: actor(io.env),
          ...(retryWith ? { profile: retryWith } : {}),
          ...(values.note ? { instructions: values.note } : {}),
          ...(state.waitingFor ? { wait: state.waitingFor } : {}),
        },
        DecisionSent,
      )
      .catch(orUnknownTask(id));
    if (values.json) io.out(JSON.stringify(done, null, 2));
    else
      io.out(
        `${id}: ${decision === "retry" ? `retry with ${retryWith}` : decision} sent (decision ${done.decisionId}); follow it with vault tasks show ${id}`,
      );
    return 0;
  },
};
