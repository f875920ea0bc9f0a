/** Bad usage and --help, through the binary: decided before any request (the URL points at nothing). */
import { beforeAll, describe, expect, it } from "vitest";
import { freePort, runVault } from "./helpers.ts";

let env: Record<string, string>;
beforeAll(async () => {
  // Nothing listens there: a request would fail with exit 1, so an exit 2 proves nothing was sent.
  env = { VAULT_URL: `http://127.0.0.1:${await freePort()}`, VAULT_AUTH_TOKEN: "t" };
});

const ID = "t-20261124-1530-ab12cd";

describe("bad usage: the message and the command's usage on stderr, exit 2", () => {
  const cases: [string[], RegExp][] = [
    [[], /^vault: run, inspect, deliver, replay and answer/],
    [["frobnicate"], /^vault: unknown command 'frobnicate'/],
    [["tasks"], /^Look at tasks\.\n\nUSAGE\n {2}vault tasks list/],
    [["tasks", "delete"], /^vault: unknown command 'vault tasks delete'/],
    [["tasks", "list", "--nope"], /^vault: Unknown option '--nope'\n\nUSAGE\n {2}vault tasks list /],
    [["tasks", "list", "--since", "yesterday"], /^vault: --since takes a window like 90m, 24h or 7d, not 'yesterday'/],
    [["tasks", "list", "--status", "broken"], /^vault: unknown status 'broken'; one of init, running,/],
    [["tasks", "list", "--limit", "501"], /^vault: --limit takes a whole number from 1 to 500/],
    [["tasks", "show"], /^vault: give a task id\n\nUSAGE\n {2}vault tasks show <id>/],
    [["tasks", "show", "not-an-id"], /^vault: 'not-an-id' is not a task id; they look like t-20261124-1530-ab12cd/],
    [["replay"], /^vault: give a task id, or --failed --since <window>/],
    [["replay", "--failed"], /^vault: --failed needs --since, e\.g\. --since 24h/],
    [["replay", ID, "--failed", "--since", "1h"], /^vault: give task ids or --failed, not both/],
    [["replay", ID, "--profile", "auto"], /^vault: --profile selects tasks for --failed; it does not go with task ids/],
    [
      ["replay", "--failed", "--since", "1h", "--concurrency", "0"],
      /^vault: --concurrency takes a whole number from 1 to 20/,
    ],
    [
      ["replay", ID, "--from-tier", "gpt-9"],
      /^vault: --from-tier takes a profile: deepseek, gemini-flash, gemini-pro, sonnet, opus, codex, consensus; not 'gpt-9'/,
    ],
    [["decide", ID], /^vault: give exactly one of --approve, --reject, --retry-with <profile>/],
    [["decide", ID, "--approve", "--reject"], /^vault: give exactly one of/],
    [["decide", ID, "--retry-with"], /^vault: Option '--retry-with <value>' argument missing/],
    [["breakers", "--raise", ID], /^vault: --raise needs --cap <usd>, e\.g\. --cap 10/],
    [["breakers", "--cap", "3"], /^vault: --cap goes with --raise <id>/],
    [["breakers", "--ack", "--raise", ID], /^vault: --ack and --raise are separate actions; give one/],
    [["health", "extra"], /^vault: unexpected argument 'extra'/],
    [["execute", "Fix it"], /^vault: give --repo <name> \(vault repos list shows them\)\n\nUSAGE\n {2}vault execute/],
    [["execute", "--repo", "app"], /^vault: give the prompt as one argument, in quotes/],
    [["execute", "Fix it", "--repo", "app", "--verify"], /^vault: --verify takes the command to run after the agent/],
    [
      ["execute", "Fix it", "--repo", "app", "--deliver", "email"],
      /^vault: --deliver takes none, push or pr, not 'email'/,
    ],
    [
      ["execute", "Fix it", "--repo", "app", "--executor", "claude", "--profile", "opus"],
      /^vault: give --executor or --profile, not both/,
    ],
    [["repos"], /^The repos tasks may work in, registered by URL\.\n\nUSAGE\n {2}vault repos add/],
    [["repos", "add", "app"], /^vault: give a name and a URL/],
    [
      ["repos", "add", "app", "https://x-access-token:ghp_1@github.com/o/app.git"],
      /^vault: url: url must not carry a user or token/,
    ],
    [["repos", "add", "app", "https://github.com/o/app", "--deliver", "mail"], /^vault: --deliver: /],
    [["repos", "remove"], /^vault: give the repo's name/],
    [["deliver", ID, "--mode", "none"], /^vault: --mode takes push or pr, not 'none'/],
    [["tasks", "diff", ID, "--cursor", "o1"], /^vault: --cursor goes with --page/],
    [["tasks", "diff", ID, "--side", "c"], /^vault: --side takes a or b, not 'c'/],
    [["health", "--url", "not a url"], /^vault: 'not a url' is not a URL \(--url\)/],
  ];
  it.each(cases)("vault %j", async (args, message) => {
    const r = await runVault(args, env);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(message);
  });
});

describe("--help on every command: exit 0, usage, flags and examples on stdout", () => {
  const cases = [
    ["--help"],
    ["tasks", "--help"],
    ["tasks", "list", "--help"],
    ["tasks", "show", "-h"],
    ["replay", "--help"],
    ["decide", "--help"],
    ["breakers", "--help"],
    ["health", "--help"],
    ["help", "replay"],
    ["--url", "x", "replay", "-h"],
  ];
  it.each(cases)("vault %j", async (...args) => {
    const r = await runVault(args, env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toContain("USAGE");
  });

  it("a command's help names its flags and the global ones", async () => {
    const r = await runVault(["replay", "--help"], env);
    for (const flag of [
      "--failed",
      "--since",
      "--from-tier",
      "--dry-run",
      "--concurrency",
      "--force",
      "--json",
      "--url",
      "--token",
    ])
      expect(r.out).toContain(flag);
    expect(r.out).toContain("EXAMPLES\n  $ vault replay");
  });

  it("--version", async () => {
    expect(await runVault(["--version"], env)).toMatchObject({ code: 0, out: "0.1.0\n", err: "" });
  });
});
