/** A task's change as the CLI prints it: branch, commit, diffstat, pull request, delivery. */
import type { TaskChange } from "@vault-mcp/contract";
import { paint } from "./format.ts";

/** Where the branch is: on the remote once delivered, else still on the executor. */
function whereText(c: TaskChange): string {
  switch (c.delivery) {
    case "delivered":
      return "on the remote";
    case "discarded":
      return "discarded";
    case "failed":
      return "on the executor: delivery failed";
    default:
      return c.deliver === "none" ? "on the executor (deliver none)" : "on the executor";
  }
}

export function changeLines(c: TaskChange, color: boolean): string[] {
  const lines = [
    `branch  ${c.branch} @ ${c.commit.slice(0, 12)} (${whereText(c)})`,
    `change  ${c.files} file${c.files === 1 ? "" : "s"}, ${paint(`+${c.added}`, "good", color)} ${paint(`−${c.deleted}`, "bad", color)}`,
  ];
  if (c.prUrl) lines.push(`PR      ${c.prUrl}`);
  if (c.delivery === "failed" && c.deliveryError) lines.push(paint(c.deliveryError, "warn", color));
  return lines;
}
