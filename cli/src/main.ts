/** `vault`: ops CLI over the Worker's REST API. Exit codes: 0 ok, 1 failure, 2 bad usage. */
import { parseArgs } from "node:util";
import { CliError, resolveTarget } from "./client.ts";
import { breakersCommand, decideCommand, healthCommand, OPS_USAGE } from "./commands/ops.ts";
import { REPLAY_USAGE, replayCommand } from "./commands/replay.ts";
import { TASKS_USAGE, tasksList, tasksShow, UsageError } from "./commands/tasks.ts";

const USAGE = `usage: vault [--url URL] [--token TOKEN] <command>

${TASKS_USAGE}
${REPLAY_USAGE}
${OPS_USAGE}

URL and token default to VAULT_URL / VAULT_AUTH_TOKEN, then the local stack (.dev.vars).`;

export async function run(argv: string[], io = { out: (s: string) => console.log(s), err: (s: string) => console.error(s), tty: Boolean(process.stdout.isTTY) }): Promise<number> {
  try {
    const { values, tokens } = parseArgs({ args: argv, options: { url: { type: "string" }, token: { type: "string" }, help: { type: "boolean", short: "h" } }, strict: false, tokens: true });
    // Global flags come before the command; everything from the command on belongs to it.
    const first = tokens.find((tk) => tk.kind === "positional");
    const rest = first ? argv.slice(first.index) : [];
    const [cmd, ...args] = rest;
    if (!cmd || values.help === true || args.includes("--help") || args.includes("-h")) {
      io.out(USAGE);
      return cmd || values.help === true ? 0 : 2;
    }
    const target = () => resolveTarget({ url: typeof values.url === "string" ? values.url : undefined, token: typeof values.token === "string" ? values.token : undefined });
    const port = new URL(typeof values.url === "string" ? values.url : (process.env.VAULT_URL ?? "http://127.0.0.1:28787")).port || "8787";
    switch (cmd) {
      case "tasks": {
        const [sub, ...subArgs] = args;
        if (sub === "list") return await tasksList(target(), subArgs, io.out);
        if (sub === "show") return await tasksShow(target(), subArgs, io.out, io.tty, port);
        throw new UsageError("tasks takes 'list' or 'show'");
      }
      case "replay":
        return await replayCommand(target(), args, io.out, io.err);
      case "breakers":
        return await breakersCommand(target(), args, io.out);
      case "decide":
        return await decideCommand(target(), args, io.out);
      case "health":
        return await healthCommand(target(), args, io.out);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))) {
      io.err(`vault: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof CliError) {
      io.err(`vault: ${e.message}`);
      return e.exitCode;
    }
    io.err(`vault: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
