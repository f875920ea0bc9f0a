import { DeliveryMode, TaskDelivered } from "@vault-mcp/contract";
import { parseFlags, taskId, UsageError } from "../args.ts";
import { changeLines } from "../change.ts";
import { type Command, connect } from "../command.ts";
import { orUnknownTask } from "../http.ts";

/** The executor bounds a delivery by DELIVERY_TIMEOUT_MS (120 s); the Worker's answer comes before this. */
const DELIVER_TIMEOUT_MS = 180_000;

export const deliver: Command = {
  name: "deliver",
  summary: "Deliver a succeeded task's work again: push its branch (and open or update its pull request).",
  about: `A task whose delivery failed (flag delivery_failed: refused credentials, an unreachable remote)
keeps its work on the executor; fix what the message says (e.g. the token in the executor's
GIT_CREDENTIALS file), then run this. Delivering again is safe: the same branch vault/<taskId>, the
same pull request updated, never a second one. --mode overrides the task's delivery (push or pr).`,
  usage: ["deliver <id> [--mode push|pr] [--json]"],
  flags: `  --mode <mode>  push or pr for this delivery (default: the task's, else its repo's)
  --json         the API's answer as JSON: {taskId, change}`,
  examples: ["vault deliver t-20261124-1530-ab12cd", "vault deliver t-20261124-1530-ab12cd --mode pr"],
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { mode: { type: "string" }, json: { type: "boolean" } });
    if (positionals.length > 1) throw new UsageError(`deliver takes one task id, not ${positionals.length}`);
    const id = taskId(positionals[0]);
    const mode = values.mode === undefined ? undefined : DeliveryMode.safeParse(values.mode);
    if (mode && !mode.success) throw new UsageError(`--mode takes push or pr, not '${values.mode}'`);
    const out = await connect(values, io)
      .post(`/api/tasks/${id}/deliver`, mode ? { deliver: mode.data } : {}, TaskDelivered, DELIVER_TIMEOUT_MS)
      .catch(orUnknownTask(id));
    if (values.json) io.out(JSON.stringify(out, null, 2));
    else io.out([`${id}: delivered`, ...changeLines(out.change, io.color)].join("\n"));
    return 0;
  },
};
