/**
 * What `npm start` prints of `wrangler dev`'s output. A task that does not succeed errors its
 * workflow instance on purpose (workflows/execute-workflow.ts, TaskEnded), and wrangler reports that
 * as a red "Uncaught TaskEnded" error with a stack trace, which reads as a crash of the stack. It is
 * a task's normal end: one plain line naming the task and its status replaces the whole block.
 * An accepted heartbeat of a pooled executor (every few seconds from each) is not printed either: a
 * refused one is, and `vault executors` shows the pool.
 */
import { stripControls } from "@vault-mcp/contract";

const TASK_ENDED = /Uncaught TaskEnded: (task \S+ \S+?:.*?)(?:\s+Error)?\s*$/;
/** The block's stack lines (`at run (file:…)`) and the blank lines around them. */
const STACK_LINE = /^\s*(at\s.*)?$/;
const MAX_LINE = 200;
/** wrangler's request line for a heartbeat the Worker accepted. */
const HEARTBEAT_OK = /^\[wrangler:info\] POST \/api\/executors\/heartbeat 2\d\d\b/;

/** A line filter: each call takes one line of wrangler's output and returns what to print (null: nothing). */
export function workerLogFilter(): (line: string) => string | null {
  let inBlock = false;
  return (line) => {
    const plain = stripControls(line);
    const ended = TASK_ENDED.exec(plain);
    if (ended?.[1]) {
      inBlock = true;
      const text = ended[1].trim();
      return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE - 1)}…` : text;
    }
    if (inBlock && STACK_LINE.test(plain)) return null;
    if (HEARTBEAT_OK.test(plain)) return null;
    inBlock = false;
    return line;
  };
}
