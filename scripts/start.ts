/**
 * `npm start`: the whole system on this machine. Applies the D1 migrations, creates dev secrets when
 * missing (.dev.vars), starts `wrangler dev` and the executor on explicit ports, prints how to connect
 * and which profiles can run, and stops both on Ctrl-C. Ports: VAULT_WORKER_PORT (28787),
 * VAULT_EXECUTOR_PORT (28788), VAULT_INSPECTOR_PORT (29229). State: VAULT_STATE_DIR (.vault/); the
 * executor's local credentials: .vault/executor.env (created, commented out, when missing).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { ExecutorHealth } from "@vault-mcp/contract";
import { ensureExecutorEnvFile, pinnedClis, readinessReport } from "./executor-local.ts";
import { ROOT, StackError, startStack } from "./stack.ts";

const port = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    console.error(`${name} must be a port number (1-65535), got '${raw}'`);
    process.exit(2);
  }
  return n;
};

const stateDir = path.resolve(process.env.VAULT_STATE_DIR ?? path.join(ROOT, ".vault"));
mkdirSync(stateDir, { recursive: true });
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

try {
  const stack = await startStack({
    workerPort: port("VAULT_WORKER_PORT", 28787),
    executorPort: port("VAULT_EXECUTOR_PORT", 28788),
    inspectorPort: port("VAULT_INSPECTOR_PORT", 29229),
    stateDir,
    secretsFile: path.join(ROOT, ".dev.vars"),
    executorEnv,
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
  const token = stack.secrets.VAULT_AUTH_TOKEN;
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
  token      ${token}   (from .dev.vars)

${readinessReport(health, envFile)}

Connect Claude Code:
  claude mcp add --transport http vault ${stack.workerUrl}/mcp --header "Authorization: Bearer ${token}"

OAuth clients (Claude.ai needs the deployed https URL; locally e.g. the MCP Inspector):
  metadata   ${stack.workerUrl}/.well-known/oauth-protected-resource/mcp
  consent    asks for OWNER_SECRET (in .dev.vars)

Ctrl-C stops both.
`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
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
