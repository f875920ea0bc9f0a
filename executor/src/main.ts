/**
 * The executor service: `node dist/server.js` (the esbuild bundle) or `node src/main.ts` (Node 22
 * strips the types). Config from the environment (and EXECUTOR_ENV_FILE, env-file.ts) → store →
 * managers → HTTP server; one "listening" line with the URL; SIGTERM/SIGINT shut down gracefully
 * and exit 0.
 */
import { ConfigError, type ExecutorConfig, loadConfig } from "./config.ts";
import { withEnvFile } from "./env-file.ts";
import { createExecutor } from "./executor.ts";
import { announce, log } from "./log.ts";
import { SandboxSetupError } from "./sandbox/identities.ts";
import { exitOnSignals } from "./shutdown.ts";

let config: ExecutorConfig;
let env: Readonly<Record<string, string | undefined>>;
try {
  const loaded = withEnvFile(process.env);
  env = loaded.env;
  config = loadConfig(env);
  if (loaded.groupReadable)
    log("warn", "env_file_readable_by_others", { file: loaded.file, fix: `chmod 600 ${loaded.file}` });
} catch (err) {
  // Exit 2 = configuration: systemd's RestartPreventExitStatus can tell it from a crash.
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}

try {
  const executor = createExecutor(config, { env });
  exitOnSignals(() => executor.shutdown());
  const url = await executor.listen();
  announce("listening", {
    url,
    capacity: config.MAX_EXECUTORS,
    maxQueue: config.MAX_QUEUE,
    interruptedAtStart: executor.recovered.length,
    requeuedAtStart: executor.requeued.length,
    agentSandbox: config.AGENT_SANDBOX,
  });
} catch (err) {
  // A locked store, a busy port, a bad profiles file: one line saying which, then exit 1. A sandbox
  // that cannot work is configuration (exit 2): restarting will not fix it.
  log("error", "start_failed", { error: err instanceof Error ? err.message : String(err) });
  process.exit(err instanceof SandboxSetupError ? 2 : 1);
}
