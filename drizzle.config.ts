import { defineConfig } from "drizzle-kit";

// `generate` needs no credentials: wrangler applies the SQL it writes (`npm run db:migrate:local`).
export default defineConfig({
  dialect: "sqlite",
  schema: "./schema/index.ts",
  out: "./migrations",
});
