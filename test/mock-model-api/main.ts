/**
 * The mock model API as a process:
 *   node test/mock-model-api/main.ts [--port 18787] [--slow-ms 1000] [--tool-command 'echo hello > hello.txt']
 * Prints one JSON line `{"event":"listening","url":…}` once it accepts connections; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startMockModelApi } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    "slow-ms": { type: "string" },
    "tool-command": { type: "string" },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`invalid --port '${values.port}'\n`);
  process.exit(2);
}
const api = await startMockModelApi({
  port,
  ...(values["slow-ms"] !== undefined ? { slowMs: Number(values["slow-ms"]) } : {}),
  ...(values["tool-command"] !== undefined ? { toolCommand: values["tool-command"] } : {}),
});
process.stdout.write(`${JSON.stringify({ event: "listening", url: api.url, port: api.port })}\n`);
for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => void api.close().then(() => process.exit(0)));
