/** What every command is given and gives back. */
import { GLOBAL_HELP } from "./args.ts";
import { Api, resolveTarget } from "./http.ts";

export interface Io {
  /** A line of results (stdout). */
  out(line: string): void;
  /** A line of progress or an error (stderr). */
  err(line: string): void;
  /** stdout is a terminal: colour (unless NO_COLOR). */
  tty: boolean;
  color: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  now(): number;
  sleep(ms: number): Promise<void>;
  /**
   * One status line rewritten in place, when stderr is a terminal (absent otherwise: print plain
   * lines with `err`). `done` clears it before the result is printed.
   */
  live?: { update(line: string): void; done(): void };
}

export interface Command {
  /** `tasks list`, `replay`, … */
  name: string;
  summary: string;
  /** The USAGE lines, without the leading `vault `. */
  usage: readonly string[];
  /** The FLAGS section (aligned lines). */
  flags: string;
  /** A paragraph after the summary: what the command does beyond its one line. */
  about?: string;
  examples?: readonly string[];
  /** `args` holds everything after the command name (global flags included). */
  run(args: string[], io: Io): Promise<number>;
}

export function usageText(cmd: Command): string {
  return cmd.usage.map((u) => `  vault ${u}`).join("\n");
}

export function helpText(cmd: Command): string {
  return [
    cmd.summary,
    ...(cmd.about ? ["", cmd.about] : []),
    "",
    "USAGE",
    usageText(cmd),
    "",
    "FLAGS",
    cmd.flags,
    "",
    "GLOBAL FLAGS",
    GLOBAL_HELP,
    ...(cmd.examples?.length ? ["", "EXAMPLES", ...cmd.examples.map((e) => `  $ ${e}`)] : []),
  ].join("\n");
}

export function connect(flags: { url?: string | undefined; token?: string | undefined }, io: Io): Api {
  return new Api(resolveTarget(flags, io.env, io.cwd));
}
