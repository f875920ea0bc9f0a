import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

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
          },
        },
      }),
    ],
    test: {
      name: "workers",
      include: ["test/worker/**/*.test.ts", "test/workflows/**/*.test.ts"],
      setupFiles: ["./test/worker/apply-migrations.ts"],
    },
  };
});
