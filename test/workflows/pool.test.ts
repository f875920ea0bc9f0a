/** Which executor a job goes to, and what the pool can run: pure functions over pool members. */
import type { PoolReadiness } from "@vault-mcp/contract";
import { describe, expect, it } from "vitest";
import {
  configuredMember,
  type PoolMember,
  poolProblem,
  poolReadiness,
  selectExecutor,
  whyNot,
} from "../../workflows/pool.ts";

const READY: PoolReadiness = {
  profiles: { sonnet: { ready: true }, deepseek: { ready: true }, codex: { ready: true } },
  consensus: { ready: true },
  direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" },
};

const member = (id: string, over: Partial<PoolMember> = {}): PoolMember => ({
  id,
  url: `http://${id}.test`,
  source: "heartbeat",
  fresh: true,
  open: true,
  capacity: 2,
  load: 0,
  claims: 0,
  repos: ["demo"],
  readiness: READY,
  ...over,
});
const need = { profile: "sonnet" as const, repo: "demo", fetchable: false };
const chosen = (s: ReturnType<typeof selectExecutor>) => (s.ok ? s.member.id : `none: ${s.why}`);

describe("selectExecutor", () => {
  it("the most free slots wins; a tie goes to the executor that ran the repo last, then by id", () => {
    const pool = [member("a", { load: 1 }), member("b", { capacity: 4, load: 1 }), member("c")];
    expect(chosen(selectExecutor(pool, need, null))).toBe("b");
    const even = [member("a"), member("b"), member("c")];
    expect(chosen(selectExecutor(even, need, null))).toBe("a");
    expect(chosen(selectExecutor(even, need, "c"))).toBe("c");
    // Warmth never beats a free slot.
    expect(chosen(selectExecutor([member("a"), member("c", { load: 1 })], need, "c"))).toBe("a");
  });

  it("after a lost claim, ties are broken by the dispatch's seed: a burst spreads over the tied executors", () => {
    const even = [member("a"), member("b"), member("c"), member("d", { load: 1 })];
    const picks = new Set(Array.from({ length: 40 }, (_, i) => chosen(selectExecutor(even, need, "c", `t-x:1:${i}`))));
    expect([...picks].sort()).toEqual(["a", "b", "c"]);
    // The same seed chooses the same, and a free slot still beats any seed.
    expect(chosen(selectExecutor(even, need, null, "s"))).toBe(chosen(selectExecutor(even, need, null, "s")));
    expect(chosen(selectExecutor([member("a", { load: 1 }), member("b")], need, null, "s"))).toBe("b");
  });

  it("never a stale, draining, repo-less or not-ready executor, whatever its slots", () => {
    const pool = [
      member("stale", { fresh: false, capacity: 64 }),
      member("drained", { open: false, capacity: 64 }),
      member("norepo", { repos: ["other"], capacity: 64 }),
      member("nosonnet", {
        capacity: 64,
        readiness: { ...READY, profiles: { sonnet: { ready: false, missing: "set ANTHROPIC_API_KEY" } } },
      }),
      member("busy", { load: 9 }),
    ];
    expect(chosen(selectExecutor(pool, need, "stale"))).toBe("busy");
    const none = selectExecutor(pool.slice(0, 4), need, null);
    expect(none.ok).toBe(false);
    if (!none.ok) {
      expect(none.why).toContain("stale: no heartbeat within the lease");
      expect(none.why).toContain("drained: draining");
      expect(none.why).toContain("norepo: does not hold repo 'demo'");
      expect(none.why).toContain("nosonnet: sonnet not ready (set ANTHROPIC_API_KEY)");
    }
  });

  it("a repo registered with a URL goes to any executor (it clones it); consensus needs the pair", () => {
    const pool = [member("a", { repos: [], load: 1 }), member("b", { repos: [] })];
    expect(chosen(selectExecutor(pool, { ...need, fetchable: true }, null))).toBe("b");
    expect(whyNot(member("a", { repos: [] }), need)).toMatch(/does not hold repo/);
    const noPair = member("a", { readiness: { ...READY, consensus: { ready: false, missing: "needs codex" } } });
    expect(whyNot(noPair, { ...need, profile: "consensus" })).toMatch(/consensus not ready \(needs codex\)/);
    expect(whyNot(member("a"), { ...need, profile: "opus" })).toMatch(/opus not ready/);
  });

  it("the configured executor (EXECUTOR_URL) takes anything: it answers for itself", () => {
    expect(chosen(selectExecutor([configuredMember("http://x")], { ...need, repo: "any" }, null))).toBe("default");
    expect(selectExecutor([], need, null)).toEqual({ ok: false, why: "the pool is empty: no executor heartbeats" });
  });
});

describe("poolReadiness", () => {
  it("a profile is ready when one executor that could take the job can run it", () => {
    const a = member("a", {
      readiness: {
        ...READY,
        profiles: { sonnet: { ready: false, missing: "set ANTHROPIC_API_KEY" }, deepseek: { ready: true } },
      },
    });
    const b = member("b", {
      readiness: {
        ...READY,
        profiles: { sonnet: { ready: true }, deepseek: { ready: false, missing: "set DEEPSEEK_API_KEY" } },
      },
    });
    expect(poolReadiness([a, b], "demo", false)?.missing).toEqual({});
    // b does not hold the repo: only a's readiness counts.
    const r = poolReadiness([a, { ...b, repos: [] }], "demo", false);
    expect(r?.missing).toEqual({ sonnet: "set ANTHROPIC_API_KEY" });
    expect(r?.direct).toEqual(READY.direct);
    // Neither can run it: both reasons.
    const both = poolReadiness([a, { ...a, id: "c", readiness: { ...READY, profiles: {} } }], "demo", false);
    expect(both?.missing.sonnet).toMatch(/^on every executor: set ANTHROPIC_API_KEY; sonnet is not configured/);
  });

  it("no executor that could take a job: null, and poolProblem says why", () => {
    expect(poolReadiness([], "demo", false)).toBeNull();
    expect(poolProblem([], "demo", false)).toMatch(/none has sent a heartbeat/);
    const stale = [member("a", { fresh: false }), member("b", { fresh: false })];
    expect(poolReadiness(stale, "demo", false)).toBeNull();
    expect(poolProblem(stale, "demo", false)).toMatch(/no executor has sent a heartbeat within the lease \(a, b\)/);
    const drained = [member("a", { open: false })];
    expect(poolProblem(drained, "demo", false)).toMatch(/every fresh executor is draining \(a\)/);
    const elsewhere = [member("a", { repos: ["x"] })];
    expect(poolReadiness(elsewhere, "demo", false)).toBeNull();
    expect(poolProblem(elsewhere, "demo", false)).toMatch(/no executor holds repo 'demo' \(a: x\)/);
    expect(poolReadiness(elsewhere, "demo", true)).not.toBeNull();
  });
});
