/** `node test/mock-model-api/main.ts --port 18787`: the mock model API as a process. */
import { parseArgs } from "node:util";
import { startMockModelApi } from "./server.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: "18787" } } });
const api = await startMockModelApi({ port: Number(values.port) });
process.stdout.write(`${JSON.stringify({ event: "listening", url: api.url })}\n`);
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => void api.close().then(() => process.exit(0)));
