/** The executor service: `node dist/server.js` (or `node src/main.ts` on Node 22). */
import { ConfigError, loadConfig } from "./config.ts";
import { createExecutor } from "./executor.ts";
import { log } from "./log.ts";

let config;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(2);
}
const executor = createExecutor(config);
const url = await executor.listen();
// Printed at every log level: operators and scripts wait for this line.
process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), level: "info", event: "listening", url, capacity: config.MAX_EXECUTORS, maxQueue: config.MAX_QUEUE })}\n`);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log("info", "shutdown", { signal });
    executor.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log("error", "shutdown_failed", { error: String(err) });
        process.exit(1);
      },
    );
  });
}
