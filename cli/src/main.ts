/**
 * `vault`: the ops CLI over the Worker's REST API. Exit codes: 0 ok, 1 a failure (one line on
 * stderr), 2 bad usage (the message and the command's usage on stderr), 130 interrupted.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { stripControls } from "@vault-mcp/contract";
import { GLOBAL_HELP, GLOBAL_OPTIONS, UsageError } from "./args.ts";
import { type Command, helpText, type Io, usageText } from "./command.ts";
import { breakers } from "./commands/breakers.ts";
import { cooldowns } from "./commands/cooldowns.ts";
import { decide } from "./commands/decide.ts";
import { deliver } from "./commands/deliver.ts";
import { execute } from "./commands/execute.ts";
import { executors } from "./commands/executors.ts";
import { health } from "./commands/health.ts";
import { reconcile } from "./commands/reconcile.ts";
import { replay } from "./commands/replay.ts";
import { reposAdd, reposList, reposRemove } from "./commands/repos.ts";
import { tasksDiff } from "./commands/tasks-diff.ts";
import { tasksList } from "./commands/tasks-list.ts";
import { tasksShow } from "./commands/tasks-show.ts";
import { CliError } from "./http.ts";

export const COMMANDS: readonly Command[] = [
  execute,
  tasksList,
  tasksShow,
  tasksDiff,
  deliver,
  reposAdd,
  reposList,
  reposRemove,
  replay,
  decide,
  breakers,
  cooldowns,
  reconcile,
  health,
  executors,
];

const GROUPS: Readonly<Record<string, string>> = {
  tasks: "Look at tasks.",
  repos: "The repos tasks may work in, registered by URL.",
};

function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `vault: run, inspect, deliver, replay and answer vault-mcp tasks from the terminal, over the Worker's REST API.

USAGE
  vault <command> [flags]

COMMANDS
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

GLOBAL FLAGS
${GLOBAL_HELP}
  --version        print the CLI's version

Exit codes: 0 ok, 1 a failure (wrong token, Worker down, unknown task, a replay that did not
succeed), 2 bad usage. Run 'vault <command> --help' for a command's flags and examples.`;
}

function groupHelp(group: string): string {
  const cmds = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `${GROUPS[group] ?? ""}\n\nUSAGE\n${cmds.map(usageText).join("\n")}\n\nRun 'vault ${group} <command> --help' for a command's flags.`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}

/** The colour codes format.ts `paint` writes (green, red, yellow, dim, reset); nothing else survives. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the SGR codes we write ourselves
const OUR_COLOUR = /(\x1b\[(?:0|2|3[123])m)/;

/**
 * What reaches the terminal: the API's answers are cleaned when they arrive (http.ts), and this is
 * the last guard for everything else (a flag echoed back, a bug): only our SGR colours survive.
 */
export function forTerminal(line: string): string {
  return line
    .split(OUR_COLOUR)
    .map((part, i) => (i % 2 === 1 ? part : stripControls(part)))
    .join("");
}

/** The status line on a terminal: `\r`, erase the line, then the text cut to the terminal's width. */
function liveLine(): Io["live"] {
  if (process.stderr.isTTY !== true) return undefined;
  let shown = false;
  return {
    update(line) {
      // A pseudo-terminal without a size reports 0 columns: then assume 80.
      const width = Math.max(20, (process.stderr.columns || 80) - 1);
      const text = forTerminal(line.replace(/\s+/g, " "));
      process.stderr.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write("\r\x1b[2K");
      shown = false;
    },
  };
}

export function processIo(): Io {
  const tty = process.stdout.isTTY === true;
  const live = liveLine();
  return {
    ...(live ? { live } : {}),
    out: (line) => void process.stdout.write(`${forTerminal(line)}\n`),
    err: (line) => void process.stderr.write(`${forTerminal(line)}\n`),
    tty,
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    color: tty && !process.env.NO_COLOR && process.env.TERM !== "dumb",
    env: process.env,
    cwd: process.cwd(),
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

interface Resolved {
  command?: Command;
  /** A group named without its subcommand (`vault tasks`). */
  group?: string;
  /** argv without the command's own words. */
  rest: string[];
  help: boolean;
  version: boolean;
}

/**
 * Finds the command among the positionals, so global flags may come before it
 * (`vault --url X tasks list`) or after it; everything else is left for the command to parse.
 */
export function resolve(argv: readonly string[]): Resolved {
  const { tokens } = parseArgs({
    args: [...argv],
    options: { ...GLOBAL_OPTIONS, version: { type: "boolean" } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const terminator = tokens.find((t) => t.kind === "option-terminator")?.index ?? argv.length;
  const words = tokens.filter(
    (t): t is Extract<typeof t, { kind: "positional" }> => t.kind === "positional" && t.index < terminator,
  );
  const help = tokens.some((t) => t.kind === "option" && t.name === "help" && t.index < terminator);
  const wantsVersion = tokens.some((t) => t.kind === "option" && t.name === "version" && t.index < terminator);
  const drop = (n: number) => {
    const at = new Set(words.slice(0, n).map((w) => w.index));
    return argv.filter((_, i) => !at.has(i));
  };
  const [first, second] = words.map((w) => w.value);
  if (first === undefined) return { rest: [...argv], help, version: wantsVersion };
  if (first === "help") {
    // `vault help replay`, `vault help tasks list`
    const inner = resolve(drop(1));
    return { ...inner, help: true };
  }
  if (GROUPS[first] !== undefined) {
    const command = COMMANDS.find((c) => c.name === `${first} ${second ?? ""}`);
    if (!command) {
      if (second !== undefined)
        throw new UsageError(
          `unknown command 'vault ${first} ${second}'; one of: ${COMMANDS.filter((c) => c.name.startsWith(`${first} `))
            .map((c) => c.name)
            .join(", ")}`,
        );
      return { group: first, rest: drop(1), help, version: false };
    }
    return { command, rest: drop(2), help, version: false };
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) throw new UsageError(`unknown command '${first}'; run 'vault --help' for the list`);
  return { command, rest: drop(1), help, version: false };
}

export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  let resolved: Resolved | undefined;
  try {
    resolved = resolve(argv);
    const { command, group, rest, help } = resolved;
    if (resolved.version && !command) {
      io.out(version());
      return 0;
    }
    if (!command) {
      const text = group ? groupHelp(group) : topHelp();
      if (help) io.out(text);
      else io.err(text);
      return help ? 0 : 2;
    }
    if (help) {
      io.out(helpText(command));
      return 0;
    }
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      const cmd = resolved?.command;
      io.err(`vault: ${err.message}`);
      io.err(
        cmd
          ? `\nUSAGE\n${usageText(cmd)}\n\nRun 'vault ${cmd.name} --help' for the flags.`
          : "\nRun 'vault --help' for the commands.",
      );
      return 2;
    }
    if (err instanceof CliError) {
      io.err(`vault: ${err.message}`);
      return err.exitCode;
    }
    // A bug, not a condition the user can fix: still one line, with where it came from.
    io.err(
      `vault: internal error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`.replace(
        /\s*\n\s*/g,
        " ",
      ),
    );
    return 1;
  }
}
