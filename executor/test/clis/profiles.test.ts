/** The ladder profiles: the shipped config, its validation, and where a run's keys come from. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JobRequest, ProfileName } from "@vault-mcp/contract";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkProfiles,
  DEFAULT_PROFILES_FILE,
  expandEnv,
  loadProfiles,
  ProfileError,
  resolveSides,
} from "../../src/profiles.ts";

const ENV = {
  ANTHROPIC_API_KEY: "sk-ant-real",
  DEEPSEEK_API_KEY: "sk-ds-real",
  GEMINI_API_KEY: "g-real",
  OPENAI_API_KEY: "sk-oa-real",
};
const shipped = (): Record<string, unknown> =>
  JSON.parse(readFileSync(DEFAULT_PROFILES_FILE, "utf8")) as Record<string, unknown>;

const dir = mkdtempSync(path.join(os.tmpdir(), "vault-profiles-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the shipped profiles", () => {
  const p = loadProfiles(undefined, ENV);

  it("define every ladder rung, consensus = sonnet + codex, claude directs to sonnet", () => {
    for (const name of ProfileName.options.filter((n) => n !== "consensus"))
      expect(p.profiles[name], name).toBeDefined();
    expect(p.consensus).toEqual(["sonnet", "codex"]);
    expect(p.direct).toEqual({ claude: "sonnet", codex: "codex", gemini: "gemini-flash" });
    expect(p.profiles.codex).toMatchObject({ cli: "codex", model: "gpt-5.5" });
    expect(p.missingEnv).toEqual({});
  });

  it("deepseek is the claude CLI against DeepSeek's Anthropic-compatible API with DeepSeek's key", () => {
    const [side] = resolveSides(p, { profile: "deepseek" }, ENV);
    expect(side).toMatchObject({ profile: "deepseek", cli: "claude", model: "deepseek-chat" });
    expect(side?.env).toMatchObject({
      ANTHROPIC_BASE_URL: "https://api.deepseek.com/anthropic",
      ANTHROPIC_API_KEY: "sk-ds-real",
      ANTHROPIC_SMALL_FAST_MODEL: "deepseek-chat",
    });
  });

  it("consensus runs two sides, each with its own CLI, model and keys", () => {
    const sides = resolveSides(p, { profile: "consensus" }, ENV);
    expect(sides.map((s) => [s.profile, s.cli, s.model])).toEqual([
      ["sonnet", "claude", "sonnet"],
      ["codex", "codex", "gpt-5.5"],
    ]);
    // No OPENAI_BASE_URL: empty, so the adapter picks the endpoint of the profile's auth.
    expect(sides[1]?.env).toEqual({ CODEX_API_KEY: "sk-oa-real", CODEX_BASE_URL: "" });
  });

  it("a direct run uses the CLI's default profile; the request may pick the model, never the env", () => {
    const req = JobRequest.parse({ jobKey: "k1", executor: "claude", model: "opus", prompt: "x", repo: "demo" });
    const [side] = resolveSides(p, req, ENV);
    expect(side).toMatchObject({
      profile: "direct",
      cli: "claude",
      model: "opus",
      env: { ANTHROPIC_API_KEY: "sk-ant-real" },
    });
    // A request cannot carry env at all: the wire schema is strict.
    expect(
      JobRequest.safeParse({
        jobKey: "k1",
        executor: "claude",
        prompt: "x",
        repo: "demo",
        env: { ANTHROPIC_BASE_URL: "http://evil" },
      }).success,
    ).toBe(false);
  });

  it("keys come from the executor's env when the job runs; unset ones are reported and left out", () => {
    const bare = loadProfiles(undefined, {});
    expect(bare.missingEnv).toMatchObject({
      sonnet: ["ANTHROPIC_API_KEY"],
      codex: ["OPENAI_API_KEY"],
      deepseek: ["DEEPSEEK_API_KEY"],
    });
    const [side] = resolveSides(bare, { profile: "sonnet" }, {});
    expect(side?.env).toEqual({ ANTHROPIC_BASE_URL: "https://api.anthropic.com" });
  });

  it("auth: api_key unless CLAUDE_AUTH / CODEX_AUTH / GEMINI_AUTH say subscription; deepseek stays on its key", () => {
    const byAuth = (l: ReturnType<typeof loadProfiles>) =>
      Object.fromEntries(Object.entries(l.profiles).map(([n, x]) => [n, x.auth]));
    expect(new Set(Object.values(byAuth(p)))).toEqual(new Set(["api_key"]));
    const sub = loadProfiles(undefined, {
      CLAUDE_AUTH: "subscription",
      CODEX_AUTH: "subscription",
      GEMINI_AUTH: "subscription",
    });
    expect(byAuth(sub)).toEqual({
      deepseek: "api_key",
      "gemini-flash": "subscription",
      "gemini-pro": "subscription",
      sonnet: "subscription",
      opus: "subscription",
      codex: "subscription",
    });
    expect(() => loadProfiles(undefined, { CLAUDE_AUTH: "oauth" })).toThrow(
      /profiles\.sonnet\.auth is 'oauth'.*api_key or subscription/,
    );
  });

  it("a claude subscription side gets the executor's CLAUDE_CODE_OAUTH_TOKEN; an api_key side never", () => {
    const env = { ...ENV, CLAUDE_AUTH: "subscription", CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-t" };
    const sub = loadProfiles(undefined, env);
    const [sonnet] = resolveSides(sub, { profile: "sonnet" }, env);
    expect(sonnet).toMatchObject({ auth: "subscription", env: { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-t" } });
    const [deepseek] = resolveSides(sub, { profile: "deepseek" }, env);
    expect(deepseek?.env.CLAUDE_CODE_OAUTH_TOKEN).toBeUndefined();
    const [keyed] = resolveSides(
      loadProfiles(undefined, ENV),
      { profile: "sonnet" },
      { ...ENV, CLAUDE_CODE_OAUTH_TOKEN: "t" },
    );
    expect(keyed?.env.CLAUDE_CODE_OAUTH_TOKEN).toBeUndefined();
  });

  it("an unknown profile is a ProfileError", () => {
    expect(() => resolveSides(p, { profile: "nope" as "opus" }, ENV)).toThrow(ProfileError);
    expect(() => resolveSides(p, { profile: "toString" as "opus" }, ENV)).toThrow(ProfileError);
  });
});

type RawFile = {
  profiles: Record<string, Record<string, unknown>>;
  consensus: string[];
  direct: Record<string, string>;
};
type Mutation = (f: RawFile) => void;

describe("validation", () => {
  const broken = (mutate: Mutation) => {
    const f = shipped() as RawFile;
    mutate(f);
    return () => checkProfiles(f, ENV);
  };

  it.each([
    ["a missing ladder rung", (f: RawFile) => void delete f.profiles.opus, /ladder profile 'opus'/],
    [
      "a profile named consensus",
      (f: RawFile) => void (f.profiles.consensus = { cli: "claude", model: "sonnet" }),
      /reserved/,
    ],
    [
      "consensus naming an unknown profile",
      (f: RawFile) => void (f.consensus = ["sonnet", "gpt"]),
      /consensus names 'gpt'/,
    ],
    [
      "consensus with the same profile twice",
      (f: RawFile) => void (f.consensus = ["sonnet", "sonnet"]),
      /two different/,
    ],
    ["direct pointing at another CLI", (f: RawFile) => void (f.direct.codex = "sonnet"), /runs claude/],
    ["an unknown CLI", (f: RawFile) => void ((f.profiles.opus ?? {}).cli = "aider"), /profiles\.opus\.cli/],
    [
      "a lower-case env name",
      (f: RawFile) => void ((f.profiles.opus ?? {}).env = { anthropic_api_key: "x" }),
      /profiles\.opus\.env\.anthropic_api_key/,
    ],
    ["an unknown key in a profile", (f: RawFile) => void ((f.profiles.opus ?? {}).apiKey = "sk-literal"), /apiKey/],
  ] satisfies [string, Mutation, RegExp][])("refuses %s", (_what, mutate, message) => {
    expect(broken(mutate)).toThrow(ProfileError);
    expect(broken(mutate)).toThrow(message);
  });

  it("a file that is not JSON is a ProfileError naming the file", () => {
    const file = path.join(dir, "bad.json");
    writeFileSync(file, "{");
    expect(() => loadProfiles(file, ENV)).toThrow(ProfileError);
    expect(() => loadProfiles(file, ENV)).toThrow(file);
  });
});

describe("expandEnv", () => {
  it("expands ${VAR} and ${VAR:-default}; an unset variable without default drops the key", () => {
    expect(
      expandEnv(
        { A: "${X}", B: "${Y:-fallback}", C: "pre-${X}-post", D: "${MISSING}", E: "literal" },
        { X: "1", Y: "" },
      ),
    ).toEqual({
      A: "1",
      B: "fallback",
      C: "pre-1-post",
      E: "literal",
    });
  });
});
