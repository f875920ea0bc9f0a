/** Config is typed at the edge: a bad LADDER fails with the bad entry named, before any dispatch. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig, Ladder } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";
import { route } from "../../worker/router.ts";

describe("config", () => {
  it("parses LADDER into known rungs", () => {
    expect(getConfig(env).ladder).toEqual([
      "deepseek",
      "gemini-flash",
      "gemini-pro",
      "sonnet",
      "opus",
      "consensus",
      "human",
    ]);
    expect(Ladder.parse(" sonnet , opus ")).toEqual(["sonnet", "opus"]);
  });

  it.each([
    ["deepseek,sonet,opus", "unknown profile 'sonet'"],
    ["sonnet,human,opus", "'human' may only be the last rung"],
    ["sonnet,sonnet", "'sonnet' appears twice"],
    [" , ", "LADDER is empty"],
  ])("LADDER=%j is refused: %s", (ladder, message) => {
    const bad = { ...env, LADDER: ladder };
    expect(() => getConfig(bad)).toThrow(ConfigError);
    expect(() => getConfig(bad)).toThrow(`LADDER: ${message}`);
  });

  it("the start limits and the redirect allowlist default when a wrangler.toml predates them, and a bad one is named", () => {
    const { EXECUTE_RATE_PER_MINUTE: _r, MAX_ACTIVE_TASKS: _m, OAUTH_REDIRECT_ALLOW: _o, ...older } = env;
    // An Env without the three vars, as a deployment with an older wrangler.toml has.
    const config = getConfig(older as unknown as Env);
    expect([config.executeRatePerMinute, config.maxActiveTasks, config.oauthRedirectAllow]).toEqual([30, 20, []]);
    expect(
      getConfig({ ...env, OAUTH_REDIRECT_ALLOW: " https://a.example/cb , https://b.example" }).oauthRedirectAllow,
    ).toEqual(["https://a.example/cb", "https://b.example"]);
    expect(() => getConfig({ ...env, MAX_ACTIVE_TASKS: "0" })).toThrow(/MAX_ACTIVE_TASKS/);
    expect(() => getConfig({ ...env, EXECUTE_RATE_PER_MINUTE: "lots" })).toThrow(/EXECUTE_RATE_PER_MINUTE/);
  });

  it("names a missing secret without its value", () => {
    const { VAULT_AUTH_TOKEN: _t, ...rest } = env;
    expect(() => getConfig({ ...rest, VAULT_AUTH_TOKEN: "" })).toThrow(
      /invalid or missing configuration: VAULT_AUTH_TOKEN/,
    );
  });

  it("/health answers 503 degraded and names the bad LADDER entry; other routes fail generically", async () => {
    const bad = { ...env, LADDER: "deepseek,sonet" };
    const ctx = {
      waitUntil: () => undefined,
      passThroughOnException: () => undefined,
      props: {},
    } as unknown as ExecutionContext;
    const res = await route(new Request("http://localhost/health"), bad, ctx);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; reasons: string[] };
    expect(body.status).toBe("degraded");
    expect(body.reasons).toEqual([expect.stringContaining("LADDER: unknown profile 'sonet'")]);
    const api = await route(
      new Request("http://localhost/api/tasks", { headers: { authorization: "Bearer test-token" } }),
      bad,
      ctx,
    );
    expect(api.status).toBe(500);
    expect(await api.text()).not.toContain("sonet");
  });
});
