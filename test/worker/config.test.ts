/** Config is typed at the edge: a bad LADDER fails with the bad entry named, before any dispatch. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig, Ladder } from "../../core/config.ts";
import { ConfigError } from "../../core/errors.ts";

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

  it("names a missing secret without its value", () => {
    const { VAULT_AUTH_TOKEN: _t, ...rest } = env;
    expect(() => getConfig({ ...rest, VAULT_AUTH_TOKEN: "" })).toThrow(
      /invalid or missing configuration: VAULT_AUTH_TOKEN/,
    );
  });
});
