/** The binary against no Worker, or against a server that is not the vault Worker: one clear line, exit 1. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, ROOT, runVault, spawnRun } from "./helpers.ts";

describe("when the Worker is not there", () => {
  it("Worker down: one line naming the URL and the cause, exit 1, nothing on stdout", async () => {
    const port = await freePort();
    const down = await runVault(["health"], { VAULT_URL: `http://127.0.0.1:${port}`, VAULT_AUTH_TOKEN: "t" });
    expect(down).toMatchObject({ code: 1, out: "" });
    expect(down.err).toMatch(
      new RegExp(
        `^vault: cannot reach the Worker at http://127\\.0\\.0\\.1:${port} \\(from VAULT_URL\\) \\(.*ECONNREFUSED.*\\); is it running\\? .*--url.*VAULT_URL.*VAULT_WORKER_PORT.*\\n$`,
      ),
    );
  });

  it("no URL given: the local stack on VAULT_WORKER_PORT is tried, and the message says so", async () => {
    const port = await freePort();
    const down = await runVault(["health"], { VAULT_WORKER_PORT: String(port), VAULT_AUTH_TOKEN: "t" });
    expect(down).toMatchObject({ code: 1, out: "" });
    expect(down.err).toContain(`cannot reach the Worker at http://127.0.0.1:${port} (from VAULT_WORKER_PORT)`);
  });

  it("npm run inspect says the same instead of the Inspector's stack trace", async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, VAULT_WORKER_PORT: String(port), VAULT_AUTH_TOKEN: "t" };
    delete env.VAULT_URL;
    const r = await spawnRun(process.execPath, [path.join(ROOT, "scripts", "inspect.ts")], env, ROOT);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `^inspect: cannot reach the Worker at http://127\\.0\\.0\\.1:${port} \\(from VAULT_WORKER_PORT\\) .*VAULT_WORKER_PORT.*\\n$`,
      ),
    );
  });

  it("no token for a remote Worker: said before anything is sent", async () => {
    const r = await runVault(["tasks", "list"], { VAULT_URL: "https://vault.invalid" }, "/");
    expect(r).toMatchObject({
      code: 1,
      out: "",
      err: "vault: no token for https://vault.invalid: set VAULT_AUTH_TOKEN (or pass --token)\n",
    });
  });
});

describe("a server that is not the vault Worker", () => {
  let srv: Server;
  let url: string;
  beforeAll(async () => {
    srv = createServer((req, res) => {
      if (req.url?.startsWith("/api/health"))
        res.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>");
      else if (req.url?.startsWith("/api/tasks/"))
        res.writeHead(502, { "content-type": "text/plain" }).end("Bad Gateway");
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ tasks: [{ id: 1 }] }));
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => srv.close(() => r())));

  it("an HTML answer", async () => {
    const r = await runVault(["health"], { VAULT_URL: url, VAULT_AUTH_TOKEN: "t" });
    expect(r).toMatchObject({
      code: 1,
      out: "",
      err: `vault: the answer to GET /api/health from ${url} is not JSON (HTTP 200); is VAULT_URL the vault Worker?\n`,
    });
  });

  it("JSON of another shape", async () => {
    const r = await runVault(["tasks", "list"], { VAULT_URL: url, VAULT_AUTH_TOKEN: "t" });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^vault: unexpected answer to GET \/api\/tasks \(tasks\.0\.id: .*\); is the Worker the same version as this CLI\?\n$/,
    );
  });

  it("an error without the Worker's error body", async () => {
    const r = await runVault(["tasks", "show", "t-20261124-1530-ab12cd"], { VAULT_URL: url, VAULT_AUTH_TOKEN: "t" });
    expect(r).toMatchObject({
      code: 1,
      out: "",
      err: "vault: HTTP 502 Bad Gateway (GET /api/tasks/t-20261124-1530-ab12cd: 502)\n",
    });
  });
});
