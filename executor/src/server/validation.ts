/**
 * Turns zod issues on a JobRequest into one sentence per problem that names the field and says what
 * would be accepted, so a 400 can be fixed without reading the contract.
 */
import { CliName, MAX_PROMPT_CHARS, ProfileName } from "@vault-mcp/contract";

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: unknown;
  keys?: string[];
  values?: unknown[];
}

/** What each field takes, appended to its error. */
const HINTS: Record<string, string> = {
  jobKey: "1-200 characters of [A-Za-z0-9:._-], unique per job, e.g. 'task-42:1'",
  profile: `a profile: ${ProfileName.options.join(", ")}`,
  executor: `a CLI name: ${CliName.options.join(", ")} (runs that CLI's direct profile)`,
  model: "a model name like 'sonnet' or 'gemini-2.5-pro'",
  prompt: `a non-empty string of at most ${MAX_PROMPT_CHARS} characters, without NUL`,
  repo: "the name of an allowlisted repository, e.g. 'my-app'",
  ref: "a branch, tag or commit, e.g. 'main'",
  source:
    'the repo\'s remote, {"url": an https URL without a user or token, "defaultBranch": a branch}, e.g. {"url": "https://github.com/o/app.git", "defaultBranch": "main"}',
  timeoutMs: "an integer number of milliseconds from 1000 to 3600000",
  verbosity: "one of summary, mermaid, standard, full",
  verify: 'a command as an argument array, e.g. ["npm", "test"] (no shell)',
  callbackUrl: "an http(s) URL of at most 2048 characters",
  maxBudgetUsd: "what is left of the task's budget in USD, from 0.000001 to 1000000",
};

const ALLOWED = Object.keys(HINTS).join(", ");

const article = (type: string) => `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;

/** What zod saw, from its message ("… received string"): issues do not carry the input itself. */
function received(i: Issue): string {
  const got = /received (\w+)/.exec(i.message)?.[1] ?? "something else";
  return got === "undefined" || got === "null" ? got : article(got);
}

function describeIssue(i: Issue): string {
  if (i.path.length === 0) {
    if (i.code === "unrecognized_keys")
      return `unknown field${(i.keys?.length ?? 0) > 1 ? "s" : ""} ${(i.keys ?? []).map((k) => `'${k}'`).join(", ")}; the fields are ${ALLOWED}`;
    if (i.code === "invalid_type")
      return `the body must be a JSON object like {"jobKey", "profile", "prompt", "repo"}, not ${received(i)}`;
    return i.message;
  }
  const field = i.path.map(String).join(".");
  const top = String(i.path[0]);
  const hint = HINTS[top];
  const wants = hint ? `: ${hint}` : "";
  if (i.code === "invalid_type" && received(i) === "undefined") return `'${field}' is required${wants}`;
  if (i.code === "invalid_type") return `'${field}' must be ${article(String(i.expected))}, not ${received(i)}${wants}`;
  if (i.code === "invalid_value" && i.values) return `'${field}' must be one of ${i.values.map(String).join(", ")}`;
  // Messages written in the contract (regex and refine texts) already say how to fix the value.
  if (i.code === "custom" || (i.code === "invalid_format" && !i.message.startsWith("Invalid")))
    return `'${field}': ${i.message}`;
  return `'${field}' is invalid (${i.message})${wants}`;
}

/** At most a handful of problems, deduplicated by field (one regex and one refine often say the same). */
export function describeIssues(issues: readonly Issue[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const i of issues) {
    const key = i.path.map(String).join(".");
    if (seen.has(key) && key !== "") continue;
    seen.add(key);
    out.push(describeIssue(i));
    if (out.length === 6) break;
  }
  return out.join("; ");
}
