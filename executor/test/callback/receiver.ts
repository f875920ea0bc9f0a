/** A local HTTP endpoint on port 0 that records the callbacks posted to it, for the callback tests. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER } from "@vault-mcp/contract";

export interface Received {
  sig: string;
  body: string;
  type: string;
}

/**
 * Answers each request with the next status of `statuses` (the last one repeats), on `port` (default:
 * one the kernel picks); the caller closes `server`.
 */
export async function callbackReceiver(
  statuses: readonly number[] = [200],
  port = 0,
): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ sig: String(req.headers[SIGNATURE_HEADER]), body, type: String(req.headers["content-type"]) });
      res.writeHead(statuses[Math.min(got.length - 1, statuses.length - 1)] as number).end("ignored");
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`, got, server };
}
