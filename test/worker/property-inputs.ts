/**
 * Generated inputs for every input schema, written with fast-check directly (zod-fast-check does not
 * support zod 4). Each schema is described once, by what it accepts and, field by field, what it
 * refuses; the REST and MCP property tests turn that into cases:
 *
 * - valid: accepted, or refused only for the state of the rows it names (404 naming the missing
 *   row, 409, or 429 while today's block is on), never as bad input;
 * - bad (one field broken, a required field dropped, an unknown field added): a 4xx whose message
 *   names that field;
 * - junk (any JSON, or any object over the schema's own keys): never a 5xx.
 */
import { env } from "cloudflare:workers";
import { DecisionKind, ProfileName, TaskStatus, Verbosity } from "@vault-mcp/contract";
import fc from "fast-check";
import { expect } from "vitest";
import { createCheckpoint, createDecision, createTranscript } from "../../worker/services/records.ts";
import { createTask } from "../../worker/services/tasks.ts";
import { setSpend } from "../workflows/helpers.ts";

export type Input = Record<string, unknown>;

export interface InputSpec {
  /** Inputs the schema accepts (they may name rows that do not exist). */
  valid: fc.Arbitrary<Input>;
  /** Per field, values the schema refuses there whatever the other fields hold. */
  bad: Record<string, fc.Arbitrary<unknown>>;
  /** Fields without which the schema refuses an input. */
  required?: readonly string[];
  /** Unknown fields are ignored, not refused (a path, or a query read key by key). */
  open?: true;
  /** What to send as junk instead of any JSON (a path takes raw segments). */
  junk?: fc.Arbitrary<unknown>;
}

export type Case =
  | { kind: "valid"; input: Input }
  | { kind: "bad"; field: string; input: Input }
  | { kind: "junk"; input: unknown };

// ── values ──────────────────────────────────────────────────────────────────────────────────────

/** Text the way clients send it: mostly plain, some of any Unicode (lone surrogates too), the limit itself. */
export function text(min: number, max: number): fc.Arbitrary<string> {
  const short = Math.min(max, 40);
  return fc.oneof(
    { weight: 8, arbitrary: fc.string({ minLength: min, maxLength: short }) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", minLength: min, maxLength: Math.floor(short / 2) }) },
    { weight: 1, arbitrary: fc.constant("x".repeat(max)) },
  );
}

/** A prompt a CLI can read: like `text`, without NUL (the contract refuses it). */
export function promptText(min: number, max: number): fc.Arbitrary<string> {
  return text(min, max).map((t) => t.replaceAll("\0", "") || "x");
}

/**
 * The longest spec that still leaves room for a reviewer's instructions (≤ 20,000) beside the
 * fixtures' short prompts: the agent gets prompt + spec + instructions as one text of at most
 * 100,000 characters, and a valid decide must stay valid after a valid spec.
 */
const SPEC_ROOM = 100_000 - 20_000 - 200;

export const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({ a: 1 }),
);
export const notNumber = fc.oneof(fc.string({ maxLength: 5 }), fc.boolean(), fc.constant(null), fc.constant({}));
export const notBoolean = fc.oneof(fc.integer(), fc.constantFrom("true", "yes", ""), fc.constant(null));
/** A string of `max + 1` characters, or text that is not text at all. */
const tooLong = (max: number) => fc.oneof(fc.constant("x".repeat(max + 1)), notString);

const PROFILES = ProfileName.options;
export const profileName = fc.constantFrom(...PROFILES);
export const profileChoice = fc.constantFrom("auto", ...PROFILES);
export const badProfile = fc.oneof(fc.constantFrom("gpt-5", "AUTO", "human", "", "sonnet "), notString);
export const taskStatus = fc.constantFrom(...TaskStatus.options);

export const repoName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/).filter((s) => !s.includes(".."));
const badRepo = fc.oneof(
  fc.constantFrom("", "../x", "/etc", "a/b", ".hidden", "-rf", "a..b", "x".repeat(101)),
  notString,
);
const gitRef = fc
  .stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,30}$/)
  .filter((s) => !s.includes("..") && !s.endsWith(".lock") && !s.endsWith("/"));
const badRef = fc.oneof(fc.constantFrom("", "-x", "a..b", "main.lock", "a/", " main"), notString);
/** Free text, normalised on the way in (workflows/task-kind.ts). */
export const kind = fc.string({ maxLength: 200, unit: "grapheme" }).filter((s) => s.length <= 200);
const badKind = tooLong(200);
const badDeliver = fc.oneof(fc.constantFrom("", "email", "PR", "Push", "pull"), notString);
const verify = fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 4 });
const badVerify = fc.oneof(
  fc.constantFrom(
    [],
    [""],
    "npm test",
    ["x".repeat(1001)],
    Array.from({ length: 65 }, () => "a"),
  ),
  fc.integer(),
);
/** USD amounts a cap or budget may take: (0, 1000]. */
export const usd = fc.oneof(fc.double({ min: 0.01, max: 1000, noNaN: true }), fc.constantFrom(1000, 0.000001));
export const badUsd = fc.oneof(fc.constantFrom(0, -1, -0.5, 1000.01, 1e9, "5"), notNumber);
const actor = text(1, 100);
export const sinceText = fc
  .tuple(fc.integer({ min: 0, max: 99_999 }), fc.constantFrom("m", "h", "d"))
  .map(([n, u]) => `${n}${u}`);
export const badSince = fc.oneof(fc.constantFrom("", "24", "1y", "yesterday", "-1h", "123456h", "1.5h"), notString);

/** `t-YYYYMMDD-HHMM-xxxxxx`: the shape of a task id, almost surely of no row. */
export const missingTaskId = fc
  .tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 9999 }), fc.stringMatching(/^[a-z0-9]{6}$/))
  .map(([d, t, s]) => `t-${String(d).padStart(8, "0")}-${String(t).padStart(4, "0")}-${s}`);
export const badTaskId = fc.oneof(
  fc.constantFrom("", "t-1", "T-20260101-0000-abcdef", "t-20260101-0000-ABCDEF", "t-20260101-0000-abcdefg", "task"),
  notString,
);
export const kvKey = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9:._/-]{0,40}$/);
export const badKvKey = fc.oneof(fc.constantFrom("", " a", "/a", ".a", "a b", "a?b", "ä", "x".repeat(257)), notString);
const jsonState = fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null);
/** Keys no schema has: a strict schema names them. */
export const unknownKey = fc.constantFrom("zzUnknown", "promt", "task_id", "__proto_x");

// ── rows the valid inputs name ──────────────────────────────────────────────────────────────────

/** Rows the generated inputs refer to: one task per interesting status (none has an instance). */
export interface Fixtures {
  tasks: Record<"init" | "succeeded" | "failed" | "halted" | "needs_human", string>;
  checkpoint: string;
  decision: string;
  transcript: string;
  kvKey: string;
}

export async function makeFixtures(): Promise<Fixtures> {
  const now = Date.now();
  const tasks = {} as Fixtures["tasks"];
  for (const status of ["init", "succeeded", "failed", "halted", "needs_human"] as const) {
    const row = await createTask(
      env.DB,
      { prompt: `fixture ${status}`, repo: "demo", profile: "sonnet", verbosity: "mermaid", kind: "fixture" },
      now,
    );
    await env.DB.prepare("UPDATE tasks SET status = ?2 WHERE id = ?1").bind(row.id, status).run();
    tasks[status] = row.id;
  }
  const checkpoint = await createCheckpoint(env.DB, { taskId: tasks.init, label: "fixture", state: { a: 1 } }, now);
  const decision = await createDecision(
    env.DB,
    { taskId: tasks.init, kind: "note", decision: "fixture", actor: "test" },
    now,
  );
  const transcript = await createTranscript(env.DB, { taskId: tasks.init, kind: "note", content: "fixture" }, now);
  await env.TASKS.put("fixture/key", "v");
  return { tasks, checkpoint: checkpoint.id, decision: decision.id, transcript: transcript.id, kvKey: "fixture/key" };
}

export const taskRef = (fx: Fixtures) => fc.oneof(fc.constantFrom(...Object.values(fx.tasks)), missingTaskId);

/** `get` of a checkpoint, decision or transcript: an id of 1-100 characters. */
export function recordGet(existing: string): InputSpec {
  return {
    valid: fc.record({ id: fc.oneof(fc.constant(existing), text(1, 100)) }),
    bad: { id: fc.oneof(fc.constant(""), tooLong(100)) },
    required: ["id"],
  };
}

// ── one spec per input schema ───────────────────────────────────────────────────────────────────

/** TaskInit: `workflow init`, POST /api/tasks (and, with taskId/waitSeconds, execute). */
export function taskInit(): InputSpec {
  return {
    valid: fc.record(
      {
        prompt: promptText(1, 100_000),
        repo: repoName,
        ref: gitRef,
        profile: profileChoice,
        verbosity: fc.constantFrom(...Verbosity.options),
        verify,
        budgetUsd: usd,
        kind,
        // push and pr need a registered repo (else 400, by design): `none` is valid for any repo.
        deliver: fc.constant("none"),
      },
      { requiredKeys: ["prompt", "repo"] },
    ),
    bad: {
      prompt: fc.oneof(fc.constant(""), tooLong(100_000)),
      repo: badRepo,
      ref: badRef,
      profile: badProfile,
      verbosity: fc.oneof(fc.constantFrom("loud", "", "MERMAID"), notString),
      verify: badVerify,
      budgetUsd: badUsd,
      kind: badKind,
      deliver: badDeliver,
    },
    required: ["prompt", "repo"],
  };
}

/** ExecuteInput: a new task's fields or the taskId of an init'ed one, plus waitSeconds. */
export function executeInput(fx: Fixtures): InputSpec {
  const init = taskInit();
  const wait = fc.integer({ min: 0, max: 45 });
  return {
    valid: fc.oneof(
      fc.tuple(init.valid, wait).map(([i, waitSeconds]) => ({ ...i, waitSeconds })),
      fc.record({ taskId: taskRef(fx), waitSeconds: wait }, { requiredKeys: ["taskId"] }),
    ),
    bad: {
      ...init.bad,
      taskId: badTaskId,
      waitSeconds: fc.oneof(fc.constantFrom(-1, 46, 1.5, 1e6, "10"), notNumber),
    },
    // Without taskId, both prompt and repo are needed (the refinement names them).
    required: ["prompt", "repo"],
  };
}

export function taskSpec(fx: Fixtures): InputSpec {
  return {
    valid: fc.record({ taskId: taskRef(fx), spec: text(1, SPEC_ROOM) }),
    bad: { taskId: badTaskId, spec: fc.oneof(fc.constant(""), tooLong(100_000)) },
    required: ["taskId", "spec"],
  };
}

const checkpointBody = fc.record({ label: text(1, 200), state: jsonState });
const badCheckpointBody = fc.oneof(
  fc.record({ label: fc.constant(""), state: jsonState }),
  fc.record({ label: text(1, 20), state: fc.constant(null) }),
  fc.record({ label: text(1, 20) }),
  notString,
);

/** WriteUp: content and/or a checkpoint. */
export function writeUp(fx: Fixtures): InputSpec {
  return {
    valid: fc.oneof(
      fc.record(
        { taskId: taskRef(fx), content: text(1, 1000), checkpoint: checkpointBody },
        { requiredKeys: ["taskId", "content"] },
      ),
      fc.record({ taskId: taskRef(fx), checkpoint: checkpointBody }),
    ),
    bad: { taskId: badTaskId, content: fc.oneof(fc.constant(""), notString), checkpoint: badCheckpointBody },
    required: ["taskId"],
  };
}

export function taskClose(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      { taskId: taskRef(fx), note: text(0, 20_000), actor, discard: fc.boolean() },
      { requiredKeys: ["taskId"] },
    ),
    bad: {
      taskId: badTaskId,
      note: tooLong(20_000),
      actor: fc.oneof(fc.constant(""), tooLong(100)),
      discard: notBoolean,
    },
    required: ["taskId"],
  };
}

/** `vault deliver`, `POST /api/tasks/:id/deliver`, `workflow deliver`: no fixture task has a change (409). */
export function taskDeliver(fx: Fixtures): InputSpec {
  return {
    valid: fc.record({ taskId: taskRef(fx), deliver: fc.constantFrom("push", "pr") }, { requiredKeys: ["taskId"] }),
    bad: { taskId: badTaskId, deliver: fc.oneof(fc.constant("none"), badDeliver) },
    required: ["taskId"],
  };
}

/** `GET /api/tasks/:id/diff`, `workflow_query diff`: no fixture task has a change (409). */
export function taskDiff(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      { taskId: taskRef(fx), cursor: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/), side: fc.constantFrom("a", "b") },
      { requiredKeys: ["taskId"] },
    ),
    bad: { taskId: badTaskId, cursor: fc.constant("x".repeat(1001)), side: fc.constantFrom("c", "A", "") },
    required: ["taskId"],
  };
}

const githubName = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,20}$/), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/))
  .map(([o, r]) => `${o}/${r}`)
  .filter((s) => !s.endsWith("/.") && !s.endsWith("/.."));

/** `repos add`, `POST /api/repos`: a deliver `pr` always comes with a github (or a github.com URL). */
export function repoInput(): InputSpec {
  return {
    valid: fc
      .record(
        {
          name: repoName,
          url: fc.constantFrom(
            "https://github.com/octo-org/app.git",
            "https://git.example.com/team/svc",
            "http://127.0.0.1:9/a.git",
          ),
          defaultBranch: gitRef,
          deliver: fc.constantFrom("none", "push", "pr"),
          github: githubName,
        },
        { requiredKeys: ["name", "url"] },
      )
      .map((r) => (r.deliver === "pr" && !r.github ? { ...r, github: "octo-org/app" } : r)),
    bad: {
      name: badRepo,
      url: fc.oneof(
        fc.constantFrom(
          "",
          "file:///etc",
          "https://user:tok@github.com/o/r",
          "ext::sh -c x",
          "https://h/r?x=1",
          "https://h/",
        ),
        notString,
      ),
      defaultBranch: badRef,
      deliver: badDeliver,
      github: fc.oneof(fc.constantFrom("", "nope", "a/b/c", "-a/b", "o/.."), notString),
    },
    required: ["name", "url"],
  };
}

export function repoNameInput(): InputSpec {
  return { valid: fc.record({ name: repoName }), bad: { name: badRepo }, required: ["name"] };
}

/** HumanEvent: the body of POST /api/tasks/:id/decide and `workflow decide`'s `human`. */
export function humanEvent(): InputSpec {
  return {
    valid: fc.record(
      {
        decision: fc.constantFrom("approve", "reject", "retry"),
        profile: profileName,
        instructions: text(0, 20_000),
        actor: text(0, 100),
      },
      { requiredKeys: ["decision"] },
    ),
    bad: {
      decision: fc.oneof(fc.constantFrom("", "Approve", "maybe"), notString),
      profile: badProfile,
      instructions: tooLong(20_000),
      actor: tooLong(100),
    },
    required: ["decision"],
  };
}

/** BudgetEvent plus the halted task: `breakers raise`, POST /api/tasks/:id/budget. */
export function breakerRaise(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      { taskId: taskRef(fx), capUsd: usd, actor: text(0, 100), note: text(0, 2000) },
      { requiredKeys: ["taskId", "capUsd"] },
    ),
    bad: { taskId: badTaskId, capUsd: badUsd, actor: tooLong(100), note: tooLong(2000) },
    required: ["taskId", "capUsd"],
  };
}

export function breakerAck(): InputSpec {
  return {
    valid: fc.record({ note: text(0, 2000), actor }, { requiredKeys: [] }),
    bad: { note: tooLong(2000), actor: fc.oneof(fc.constant(""), tooLong(100)) },
  };
}

export function kvPut(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      {
        key: fc.oneof(fc.constant(fx.kvKey), kvKey),
        value: text(0, 2000),
        ttlSeconds: fc.integer({ min: 60, max: 365 * 86_400 }),
      },
      { requiredKeys: ["key", "value"] },
    ),
    bad: {
      key: badKvKey,
      value: notString,
      ttlSeconds: fc.oneof(fc.constantFrom(0, 59, 365 * 86_400 + 1, 61.5, "120"), notNumber),
    },
    required: ["key", "value"],
  };
}

/** KvList as MCP sends it (numbers); the REST query form sends the same as strings. */
export function kvList(): InputSpec {
  return {
    valid: fc.record(
      { prefix: text(0, 256), cursor: text(0, 2000), limit: fc.integer({ min: 1, max: 1000 }) },
      { requiredKeys: [] },
    ),
    bad: {
      prefix: tooLong(256),
      cursor: tooLong(2000),
      limit: fc.constantFrom(0, -1, 1001, 1.5, "abc", null, {}),
    },
  };
}

export function checkpointCreate(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      { taskId: taskRef(fx), label: text(1, 200), state: jsonState },
      { requiredKeys: ["label", "state"] },
    ),
    bad: {
      taskId: badTaskId,
      label: fc.oneof(fc.constant(""), tooLong(200)),
      state: fc.constant(null),
    },
    required: ["label", "state"],
  };
}

export function decisionCreate(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      {
        taskId: taskRef(fx),
        kind: fc.constantFrom(...DecisionKind.options),
        decision: text(1, 2000),
        rationale: text(0, 20_000),
        actor: text(0, 100),
      },
      { requiredKeys: ["decision"] },
    ),
    bad: {
      taskId: badTaskId,
      kind: fc.oneof(fc.constantFrom("", "vote", "HUMAN"), notString),
      decision: fc.oneof(fc.constant(""), tooLong(2000)),
      rationale: tooLong(20_000),
      actor: tooLong(100),
    },
    required: ["decision"],
  };
}

export function transcriptCreate(fx: Fixtures): InputSpec {
  return {
    valid: fc.record(
      {
        taskId: taskRef(fx),
        kind: fc.constantFrom("note", "cli", "verify"),
        content: text(1, 1000),
        attempt: fc.integer({ min: 1, max: 1000 }),
      },
      { requiredKeys: ["taskId", "content"] },
    ),
    bad: {
      taskId: badTaskId,
      kind: fc.oneof(fc.constantFrom("consensus", "", "NOTE"), notString),
      content: fc.oneof(fc.constant(""), notString),
      attempt: fc.oneof(fc.constantFrom(0, -1, 1.5, "1"), notNumber),
    },
    required: ["taskId", "content"],
  };
}

/** ListQuery as MCP sends it (numbers); REST sends the same as a query string. */
export function listQuery(fx: Fixtures): InputSpec {
  return {
    valid: fc.record({ taskId: taskRef(fx), limit: fc.integer({ min: 1, max: 200 }) }, { requiredKeys: [] }),
    bad: { taskId: badTaskId, limit: fc.constantFrom(0, -1, 201, 1.5, "abc", null, {}) },
  };
}

export function replayInput(fx: Fixtures): InputSpec {
  const common = {
    fromTier: profileName,
    dryRun: fc.boolean(),
    force: fc.boolean(),
    includeWaiting: fc.boolean(),
    budgetUsd: usd,
  };
  return {
    valid: fc.oneof(
      fc.record({ taskId: taskRef(fx), ...common }, { requiredKeys: ["taskId"] }),
      fc.record(
        {
          since: sinceText,
          status: fc.array(taskStatus, { minLength: 1, maxLength: TaskStatus.options.length }),
          profile: profileChoice,
          limit: fc.integer({ min: 1, max: 100 }),
          ...common,
        },
        { requiredKeys: ["since"] },
      ),
    ),
    bad: {
      taskId: badTaskId,
      since: badSince,
      status: fc.oneof(
        fc.constantFrom(
          [],
          ["nope"],
          "failed",
          Array.from({ length: TaskStatus.options.length + 1 }, () => "failed"),
        ),
        fc.integer(),
      ),
      profile: badProfile,
      fromTier: fc.oneof(fc.constantFrom("auto", "human", "gpt"), notString),
      dryRun: notBoolean,
      force: notBoolean,
      includeWaiting: notBoolean,
      budgetUsd: badUsd,
      limit: fc.oneof(fc.constantFrom(0, 101, 1.5, "20"), notNumber),
    },
  };
}

// ── cases ───────────────────────────────────────────────────────────────────────────────────────

/** Any JSON, or an object over the schema's own keys with any values: only "never a 5xx" holds. */
export function junk(keys: readonly string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.dictionary(keys.length ? fc.constantFrom(...keys) : fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 5,
    }),
  );
}

/** Valid, bad (one field broken, one required field dropped, one unknown field) and junk cases. */
export function cases(spec: InputSpec): fc.Arbitrary<Case> {
  const fields = Object.keys(spec.bad);
  const variants: fc.WeightedArbitrary<Case>[] = [
    { weight: 4, arbitrary: spec.valid.map((input): Case => ({ kind: "valid", input })) },
    { weight: 1, arbitrary: (spec.junk ?? junk(fields)).map((input): Case => ({ kind: "junk", input })) },
  ];
  if (!spec.open)
    variants.push({
      weight: 1,
      arbitrary: fc
        .tuple(spec.valid, unknownKey, fc.jsonValue({ maxDepth: 1 }))
        .map(([input, key, value]): Case => ({ kind: "bad", field: key, input: { ...input, [key]: value ?? 0 } })),
    });
  if (fields.length)
    variants.push({
      weight: 4,
      arbitrary: fc.oneof(
        ...fields.map((field) =>
          fc
            .tuple(spec.valid, spec.bad[field] as fc.Arbitrary<unknown>)
            .map(([input, value]): Case => ({ kind: "bad", field, input: { ...input, [field]: value } })),
        ),
      ),
    });
  const required = spec.required ?? [];
  if (required.length)
    variants.push({
      weight: 1,
      // Only where the field is there: some valid forms do without it (execute by taskId).
      arbitrary: fc
        .tuple(spec.valid, fc.constantFrom(...required))
        .filter(([input, field]) => field in input)
        .map(([input, field]): Case => {
          const { [field]: _dropped, ...rest } = input;
          return { kind: "bad", field, input: rest };
        }),
    });
  return fc.oneof(...variants);
}

/** The rows whose counts must not move while only refused inputs arrive. */
export async function rowCounts(): Promise<Record<string, number>> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM checkpoints) AS checkpoints,
            (SELECT count(*) FROM decisions) AS decisions, (SELECT count(*) FROM transcripts) AS transcripts,
            (SELECT count(*) FROM stages) AS stages`,
  ).first<Record<string, number>>();
  return row ?? {};
}

/** Every string a valid input carries: a 404 must name one of them (the row it could not find). */
export function namedValues(input: unknown): string[] {
  if (typeof input === "string") return [input];
  if (input && typeof input === "object") return Object.values(input).flatMap(namedValues);
  return [];
}

export type Tally = Record<Case["kind"], number>;

/**
 * Runs one schema's cases, under today's spend block when `blocked` (so that nothing a valid input
 * asks for can start a workflow), then checks that valid cases really ran (a generator that
 * silently made only junk would prove nothing) and that no stage was written.
 */
export async function runSchema(runs: number, blocked: boolean, exercise: () => Promise<Tally>): Promise<void> {
  if (blocked) await setSpend(20, 0);
  try {
    const tally = await exercise();
    expect(tally.valid + tally.bad + tally.junk).toBe(runs);
    expect(tally.valid, JSON.stringify(tally)).toBeGreaterThan(runs / 10);
  } finally {
    if (blocked) await setSpend(0, 0);
  }
  expect((await rowCounts()).stages).toBe(0);
}
