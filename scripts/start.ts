/**
 * `npm start`: the whole system on this machine. Applies the D1 migrations, creates dev secrets when
 * missing (.dev.vars), starts `wrangler dev` and the executor on explicit ports, prints how to connect
 * and which profiles can run, and stops both on Ctrl-C. Ports: VAULT_WORKER_PORT (28787),
 * VAULT_EXECUTOR_PORT (28788), VAULT_INSPECTOR_PORT (29229). State: VAULT_STATE_DIR (.vault/); the
 * executor's local credentials: .vault/executor.env (created, commented out, when missing).
 * Stopping npm itself (any signal, even SIGKILL) stops the stack too (launcher-watch.ts).
 */
import { chmodSync, fchmodSync, fstatSync, mkdirSync, readlinkSync } from "node:fs";
import path from "node:path";
import { ExecutorHealth } from "@vault-mcp/contract";
import { INSTANCE_RETENTION } from "../workflows/retention.ts";
import { ensureExecutorEnvFile, pinnedClis, readinessReport } from "./executor-local.ts";
import { watchLaunchers } from "./launcher-watch.ts";
import { localWrangler, pruneFinishedInstances } from "./prune-instances.ts";
import { ROOT, StackError, startStack } from "./stack.ts";
import { chooseStateDir } from "./state-dir.ts";
import { workerLogFilter } from "./worker-log.ts";

const port = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`${name} must be a port number (1-65535), got '${raw}'`);
    process.exit(2);
  }
  return n;
};

// Everything the stack writes (state, logs, wrangler's files) is the user's alone unless a mode is
// given: what agents must reach (the state dir they pass through, their worktrees) is opened explicitly.
process.umask(0o077);
const outputs = privateOutput();

const chosen = await chooseStateDir({
  root: ROOT,
  explicit: process.env.VAULT_STATE_DIR,
  sandboxed: process.geteuid?.() === 0 && process.env.AGENT_SANDBOX !== "off",
});
if ("refuse" in chosen) {
  console.error(`npm start: ${chosen.refuse}`);
  process.exit(2);
}
const stateDir = chosen.dir;
mkdirSync(stateDir, { recursive: true });
if (chosen.note) {
  // Whatever the umask: the agent users pass through it to their worktrees (stack.ts makes stateDir 0711).
  chmodSync(path.dirname(stateDir), 0o755);
  console.log(`state in ${stateDir}: ${chosen.note}`);
}
// Model keys and tokens for the agent CLIs: the executor reads this file itself (EXECUTOR_ENV_FILE).
const envFile = path.join(stateDir, "executor.env");
if (ensureExecutorEnvFile(envFile)) console.log(`created ${envFile} (mode 0600): put your keys or tokens there`);
const executorEnv: Record<string, string> = { EXECUTOR_ENV_FILE: envFile };
// The pinned CLIs of `npm run clis`, unless the shell names its own.
const clis = pinnedClis();
if ("env" in clis) for (const [k, v] of Object.entries(clis.env)) if (!process.env[k]) executorEnv[k] = v;
// `AGENT_SANDBOX=off npm start` is the explicit way to run agents as yourself when root.
for (const key of ["AGENT_SANDBOX", "AGENT_USER_PREFIX"] as const) {
  const value = process.env[key];
  if (value) executorEnv[key] = value;
}

// When npm (or the terminal) is gone, stdout may be a closed pipe: that must not stop the cleanup.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
  });
const workerLine = workerLogFilter();
// Set before the stack is up, so a Ctrl-C or npm killed during the start still stops what was started.
const stop: { requested: string | null; now: (why: string) => void } = {
  requested: null,
  now(why) {
    stop.requested ??= why;
  },
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop.now(""));
// Only under npm: run directly, the caller owns this process and may well exit before it.
if (process.env.npm_lifecycle_event === "start") watchLaunchers((why) => stop.now(why));

try {
  const stack = await startStack({
    workerPort: port("VAULT_WORKER_PORT", 28787),
    executorPort: port("VAULT_EXECUTOR_PORT", 28788),
    inspectorPort: port("VAULT_INSPECTOR_PORT", 29229),
    stateDir,
    secretsFile: path.join(ROOT, ".dev.vars"),
    executorEnv,
    // Through us, so a task that ended unsuccessfully is one plain line, not a red stack trace.
    log: (source, line) => {
      const shown = source === "worker" ? workerLine(line) : line;
      if (shown !== null) process.stdout.write(`${shown}\n`);
    },
  });
  // The CLI probe runs in the background at the executor's start: wait for it (a few seconds at most).
  let health = ExecutorHealth.parse(await (await fetch(`${stack.executorUrl}/health`)).json());
  for (let i = 0; i < 100 && health.clis === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    health = ExecutorHealth.parse(await (await fetch(`${stack.executorUrl}/health`)).json());
  }
  const found = Object.entries(health.clis ?? {})
    .map(([name, c]) => `${name} ${c.found ? `${c.version ?? "?"} (${c.path ?? "?"})` : "missing"}`)
    .join(", ");
  // The bearer token opens the whole API: it goes to a terminal only, never into a log file or pipe
  // (a log an agent could read would hand it over). Elsewhere the line reads it from .dev.vars.
  const devVars = path.join(ROOT, ".dev.vars");
  const onTerminal = process.stdout.isTTY === true;
  const token = onTerminal ? stack.secrets.VAULT_AUTH_TOKEN : `$(sed -n 's/^VAULT_AUTH_TOKEN=//p' ${devVars})`;
  const tokenLine = onTerminal
    ? `${token}   (from .dev.vars)`
    : `in ${devVars} (VAULT_AUTH_TOKEN, mode 0600); not printed: this output is not a terminal`;
  console.log(`
vault-mcp is running
  MCP        ${stack.workerUrl}/mcp
  REST       ${stack.workerUrl}/api   health: ${stack.workerUrl}/health
  status     ${stack.workerUrl}/status   (sign in with OWNER_SECRET from .dev.vars)
  executor   ${stack.executorUrl}   CLIs: ${found || "unknown"}${
    "missing" in clis
      ? `
             ${clis.missing}`
      : ""
  }
  sandbox    ${stack.agentSandbox}
  state      ${stateDir}
  token      ${tokenLine}${outputs}

${readinessReport(health, envFile)}

Connect Claude Code:
  claude mcp add --transport http vault ${stack.workerUrl}/mcp --header "Authorization: Bearer ${token}"

OAuth clients (Claude.ai needs the deployed https URL; locally e.g. the MCP Inspector):
  metadata   ${stack.workerUrl}/.well-known/oauth-protected-resource/mcp
  consent    asks for OWNER_SECRET (in .dev.vars)

Ctrl-C stops both.
`);
  // Local wrangler keeps finished instances forever; prune those past their retention, in the background.
  const days = (ms: number) => `${ms / 86_400_000} day${ms === 86_400_000 ? "" : "s"}`;
  pruneFinishedInstances(localWrangler(ROOT, Number(new URL(stack.workerUrl).port)))
    .then((ids) => {
      if (ids.length > 0)
        console.log(
          `pruned ${ids.length} finished workflow instance${ids.length === 1 ? "" : "s"} past their retention (${days(INSTANCE_RETENTION.successRetention)} succeeded, ${days(INSTANCE_RETENTION.errorRetention)} otherwise); their tasks stay in D1`,
        );
    })
    .catch((err: unknown) =>
      console.error(`could not prune finished workflow instances: ${err instanceof Error ? err.message : String(err)}`),
    );
  let stopping = false;
  const shutdown = async (why = "") => {
    if (stopping) return;
    stopping = true;
    console.log(`\nstopping…${why ? ` (${why})` : ""}`);
    await stack.stop();
    process.exit(0);
  };
  stop.now = (why) => void shutdown(why);
  if (stop.requested !== null) void shutdown(stop.requested);
  const exited = (what: string) => (code: number | null) => {
    if (stopping) return;
    console.error(`${what} exited (code ${code}); stopping the stack`);
    void shutdown();
  };
  stack.worker.on("exit", exited("wrangler dev"));
  stack.executor.on("exit", exited("executor"));
} catch (err) {
  console.error(err instanceof StackError ? `npm start: ${err.message}` : err);
  process.exit(1);
}

/**
 * A log npm start's output is redirected to (`npm start > vault.log`) is made the user's alone (0600),
 * whatever the shell's umask gave it: it holds the stack's lines, and the agents must not read them.
 * Returns what to say about it.
 */
function privateOutput(): string {
  const made: string[] = [];
  for (const fd of [1, 2]) {
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o077) === 0) continue;
      fchmodSync(fd, st.mode & 0o700);
      made.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // Not a file we own (a terminal, a pipe), or no /proc to name it: nothing to tighten.
    }
  }
  return made.length > 0 ? `\n  log        ${[...new Set(made)].join(", ")} made private (mode 0600)` : "";
}
