import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api } from "./mcp-client.ts";

// Generated inputs against real routes: valid ones are accepted, invalid ones get a 4xx; never a 5xx.
describe("input schemas under generated inputs", () => {
  it("POST /api/tasks: valid → 201, invalid → 4xx, 0 responses ≥ 500", async () => {
    const valid = fc.record({
      prompt: fc.string({ minLength: 1, maxLength: 200 }),
      repo: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
      kind: fc.stringMatching(/^[a-z0-9-]{1,10}$/),
    });
    const invalid = fc.oneof(
      fc.record({ prompt: fc.constant(""), repo: fc.constant("demo") }),
      fc.record({
        prompt: fc.string({ minLength: 1 }),
        repo: fc.constantFrom("../x", "/etc", "a/b", "", ".hidden", "-rf"),
      }),
      fc.record({ prompt: fc.integer(), repo: fc.anything() }),
      fc.dictionary(fc.string(), fc.anything()),
      fc.anything(),
    );
    await fc.assert(
      fc.asyncProperty(valid, async (body) => {
        const res = await api("/api/tasks", { method: "POST", body: JSON.stringify(body) });
        expect(res.status).toBe(201);
      }),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(invalid, async (body) => {
        const res = await api("/api/tasks", { method: "POST", body: JSON.stringify(body) ?? "null" });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 80 },
    );
  });

  it("PUT /api/kv/:key never answers ≥ 500 for arbitrary keys and values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), fc.anything(), async (key, value) => {
        const res = await api(`/api/kv/${encodeURIComponent(key) || "x"}`, {
          method: "PUT",
          body: JSON.stringify({ value }),
        });
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });
});
