/** The shared parsing helpers and the price table. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, kindFromMessage, lastJsonObject, stderrReason } from "../../src/clis/common.ts";
import { computeCost, loadPrices, type PriceTable, PriceTableError, priceFor } from "../../src/pricing.ts";

describe("lastJsonObject", () => {
  it("finds the error object gemini prints after a stack trace", () => {
    const text =
      'Error: boom\n    at x (file.js:1:2) {\n  status: 401\n}\n{\n  "session_id": "s",\n  "error": {"message": "{\\"error\\":{\\"code\\":401}}", "code": 401}\n}\n';
    expect(lastJsonObject(text)).toEqual({ session_id: "s", error: { message: '{"error":{"code":401}}', code: 401 } });
  });
  it("ignores text after the object and braces inside strings", () => {
    expect(lastJsonObject('{"a":"} {","b":1}\nwarning: something {odd}\n')).toEqual({ a: "} {", b: 1 });
  });
  it("takes the last of several objects; nothing usable → undefined", () => {
    expect(lastJsonObject('{"n":1}\n{"n":2}')).toEqual({ n: 2 });
    expect(lastJsonObject('{"n":1')).toBeUndefined();
    expect(lastJsonObject("[1,2]\n")).toBeUndefined();
    expect(lastJsonObject("")).toBeUndefined();
  });
});

describe("jsonLines", () => {
  it("yields complete lines only", () => {
    expect([...jsonLines('{"a":1}\nnoise\n{"b":2}\r\n{"c":')]).toEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe("kindFromMessage", () => {
  it.each([
    ["unexpected status 401 Unauthorized: bad key, url: http://127.0.0.1:4290/s/500/v1/responses", "auth"],
    ["unexpected status 403 Forbidden", "auth"],
    ["exceeded retry limit, last status: 429 Too Many Requests", "rate_limit"],
    ["Missing environment variable: `VAULT_CODEX_API_KEY`.", "auth"],
    ["Not logged in · Please run /login", "auth"],
    ["You exceeded your current quota", "rate_limit"],
    ["stream disconnected before completion: error sending request for url (http://127.0.0.1:40401/v1)", "api"],
    ["We’re currently experiencing high demand", "api"],
    ["exception TypeError: fetch failed sending request", "api"],
  ] as const)("%s → %s", (text, kind) => {
    expect(kindFromMessage(text)).toBe(kind);
  });
});

describe("stderrReason", () => {
  it("skips the routine notices and stack frames", () => {
    const stderr =
      "WARNING: proceeding, even though…\nReading additional input from stdin...\nNot inside a trusted directory and --skip-git-repo-check was not specified.\n";
    expect(stderrReason(stderr)).toBe("Not inside a trusted directory and --skip-git-repo-check was not specified.");
    expect(stderrReason("\u001b[31mError: bad\u001b[0m\n    at foo (x.js:1)\n")).toBe("Error: bad");
    expect(stderrReason("Warning: 256-color support not detected.\n")).toBe("");
  });
});

const TABLE: PriceTable = {
  default: { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
  models: {
    "gpt-5": { input: 1, output: 8, cacheRead: 0.1, cacheWrite: 0 },
    "gemini-2.5-flash": { input: 0.3, output: 2.5, cacheRead: 0.075, cacheWrite: 0 },
  },
};

describe("pricing", () => {
  it("computes USD per million tokens, cache priced apart", () => {
    expect(computeCost(TABLE, "gpt-5", { input: 900, output: 34, cacheRead: 300, cacheWrite: 0 })).toBe(0.001202);
    // Raw OpenAI/Gemini figures (cached tokens inside input) give the same cost.
    expect(computeCost(TABLE, "gpt-5", { input: 1200, output: 34, cacheRead: 300, cacheWrite: 0 }, true)).toBe(
      0.001202,
    );
  });
  it("prices dated or versioned ids as their family, other suffixes at the high default", () => {
    expect(priceFor(TABLE, "gpt-5-20260101")).toEqual({ price: TABLE.models["gpt-5"], known: true });
    expect(priceFor(TABLE, "gemini-2.5-flash-001").known).toBe(true);
    expect(priceFor(TABLE, "gpt-5-pro")).toEqual({ price: TABLE.default, known: false });
    expect(priceFor(TABLE, "gemini-2.5-flash-lite").known).toBe(false);
    expect(priceFor(TABLE, "mystery")).toEqual({ price: TABLE.default, known: false });
  });
  it("the shipped table prices every profile model", () => {
    const prices = loadPrices();
    for (const m of [
      "deepseek-chat",
      "gemini-2.5-flash",
      "gemini-2.5-pro",
      "claude-sonnet-5-5",
      "claude-opus-5-5",
      "gpt-5.5",
    ])
      expect(priceFor(prices, m).known, m).toBe(true);
  });
  it("a broken table is refused with the reason", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "vault-prices-"));
    try {
      const file = path.join(dir, "prices.json");
      writeFileSync(file, JSON.stringify({ default: { input: 1, output: 1, cacheRead: 1 }, models: {} }));
      expect(() => loadPrices(file)).toThrow(PriceTableError);
      expect(() => loadPrices(file)).toThrow(/default\.cacheWrite/);
      writeFileSync(file, "{not json");
      expect(() => loadPrices(file)).toThrow(PriceTableError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
