/** sendCallback against a real local HTTP server on port 0. */
import type { Server } from "node:http";
import { type JobView, verifyBody } from "@vault-mcp/contract";
import { afterEach, describe, expect, it } from "vitest";
import { backoffMs, sendCallback } from "../../src/callback.ts";
import { callbackReceiver, type Received } from "./receiver.ts";

const SECRET = "callback-secret-0123456789";
const view: JobView = {
  jobId: "j-1",
  jobKey: "t-1:1",
  status: "succeeded",
  createdAt: "2026-01-01T00:00:00.000Z",
  startedAt: null,
  finishedAt: null,
  result: null,
};

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** Answers each request with the next status of `statuses` (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; got: Received[] }> {
  const r = await callbackReceiver(statuses);
  server = r.server;
  return r;
}

describe("sendCallback", () => {
  it("POSTs the JobView as JSON with a signature the Worker verifies", async () => {
    const r = await receiver([200]);
    expect(await sendCallback(r.url, SECRET, view)).toEqual({ ok: true, attempts: 1 });
    const [only] = r.got;
    expect(JSON.parse(only?.body ?? "")).toEqual(view);
    expect(only?.type).toBe("application/json");
    expect(await verifyBody(SECRET, only?.body ?? "", only?.sig ?? null)).toBe(true);
    expect(await verifyBody(SECRET, `${only?.body} `, only?.sig ?? null)).toBe(false);
  });

  it("retries 5xx, 408 and 429 and stops at the first success, each attempt freshly signed", async () => {
    const r = await receiver([500, 503, 429, 408, 200]);
    expect(await sendCallback(r.url, SECRET, view, { baseDelayMs: 5 })).toEqual({ ok: true, attempts: 5 });
    expect(r.got).toHaveLength(5);
    for (const g of r.got) expect(await verifyBody(SECRET, g.body, g.sig)).toBe(true);
  });

  it("does not retry a 4xx that will not change (401, 404)", async () => {
    for (const status of [401, 404]) {
      const r = await receiver([status]);
      expect(await sendCallback(r.url, SECRET, view, { baseDelayMs: 5 })).toEqual({
        ok: false,
        attempts: 1,
        reason: "gaveUp",
      });
      server?.close();
    }
  });

  it("gives up after `attempts` against a dead endpoint", async () => {
    const r = await receiver([200]);
    server?.close();
    await new Promise((res) => setTimeout(res, 20));
    expect(await sendCallback(r.url, SECRET, view, { baseDelayMs: 5, attempts: 3, timeoutMs: 500 })).toEqual({
      ok: false,
      attempts: 3,
      reason: "gaveUp",
    });
  });

  it("stops when its signal fires (shutdown), reporting `stopped` so the callback stays owed", async () => {
    const r = await receiver([500]);
    const ac = new AbortController();
    const p = sendCallback(r.url, SECRET, view, { baseDelayMs: 60_000, signal: ac.signal });
    while (r.got.length === 0) await new Promise((res) => setTimeout(res, 5));
    ac.abort();
    expect(await p).toEqual({ ok: false, attempts: 1, reason: "stopped" });
  });

  it("backs off exponentially with ±25 % jitter: 2, 4, 8, 16, 32 s by default (about a minute)", () => {
    expect([1, 2, 3, 4, 5].map((i) => backoffMs(i, 2_000, () => 0.5))).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    expect(backoffMs(1, 2_000, () => 0)).toBe(1_500);
    expect(backoffMs(1, 2_000, () => 1)).toBe(2_500);
  });
});
