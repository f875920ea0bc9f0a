import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { CIMD_DOCUMENTS } from "./test/worker/cimd-documents.ts";

// Worker and workflow tests run inside workerd with the real D1 migrations applied.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            VAULT_AUTH_TOKEN: "test-token",
            EXECUTOR_SECRET: "test-executor-secret",
            CALLBACK_SECRET: "test-callback-secret",
            OWNER_SECRET: "test-owner-secret-0123",
            // Tests start tasks far faster than a caller should (wrangler.toml: 30 a minute, 20
            // active); the limits' own tests (start-limits.test.ts) run the Worker with small ones.
            EXECUTE_RATE_PER_MINUTE: "100000",
            MAX_ACTIVE_TASKS: "100000",
          },
          // The Worker's outbound fetches: Client ID Metadata Documents are served as their HTTPS
          // hosts would, and nothing else leaves the test (tests inject their executor and health
          // probes; a stray fetch must not reach a local stack running on this machine).
          outboundService: (request) => {
            const doc = CIMD_DOCUMENTS[request.url];
            if (doc) return Response.json(doc, { headers: { "cache-control": "max-age=60" } });
            return new Response(`no network in the workerd tests (${request.url})`, { status: 502 });
          },
        },
      }),
    ],
    test: {
      name: "workers",
      maxWorkers: 2, // see ./vitest.config.ts
      include: ["test/worker/**/*.test.ts", "test/workflows/**/*.test.ts"],
      setupFiles: ["./test/worker/apply-migrations.ts"],
    },
  };
});
