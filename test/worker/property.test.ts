/**
 * Every REST route's body, query and path under generated inputs, through the real Worker
 * (reliability checklist item 10): at least RUNS cases per route, none answered ≥ 500; valid ones
 * accepted (or refused for the rows they name: a 404 naming the row, a 409 for its state, a 429 while
 * today's block is on); broken ones a 4xx naming the broken field, with no row written.
 */
import { env } from "cloudflare:workers";
import { SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setHealthFetch } from "../../worker/services/health.ts";
import { api } from "./mcp-client.ts";
import {
  badProfile,
  badSince,
  breakerAck,
  breakerRaise,
  cases,
  checkpointCreate,
  decisionCreate,
  executeInput,
  type Fixtures,
  humanEvent,
  type Input,
  type InputSpec,
  kvKey,
  kvPut,
  makeFixtures,
  missingTaskId,
  namedValues,
  profileChoice,
  recordGet,
  replayInput,
  repoInput,
  repoNameInput,
  rowCounts,
  runSchema,
  sinceText,
  type Tally,
  taskClose,
  taskDeliver,
  taskDiff,
  taskInit,
  taskRef,
  taskSpec,
  taskStatus,
  text,
  transcriptCreate,
  writeUp,
} from "./property-inputs.ts";

/** Cases per route. */
const RUNS = 1000;

let fx: Fixtures;
beforeAll(async () => {
  fx = await makeFixtures();
  // /api/health probes the executor: keep that off the network (and off a running local stack).
  setHealthFetch(() => Promise.reject(new Error("no executor in this test")));
});
afterAll(() => setHealthFetch(null));

interface Route {
  name: string;
  spec: () => InputSpec;
  send: (input: unknown) => Promise<Response>;
  /** Statuses a valid input may get; a 404 must name the row it did not find. */
  ok: readonly number[];
  /** Today's spend block is on while it runs: nothing it accepts may start a workflow. */
  blocked?: true;
}

const json = (method: string, path: string) => (input: unknown) =>
  api(path, { method, body: JSON.stringify(input) ?? "null" });

/** A body route whose `taskId` is in the path (the path's id wins over the body's). */
const pathed = (method: string, path: (id: string) => string) => (input: unknown) => {
  const { taskId, ...body } = (isObject(input) ? input : {}) as Input;
  return api(path(typeof taskId === "string" ? encodeURIComponent(taskId) : fx.tasks.init), {
    method,
    body: JSON.stringify(isObject(input) ? body : input) ?? "null",
  });
};

const query = (path: string) => (input: unknown) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(isObject(input) ? input : { value: input }))
    for (const one of Array.isArray(v) && v.length ? v : [v])
      q.append(k, typeof one === "string" ? one : JSON.stringify(one));
  return api(`${path}?${q}`);
};

/** A path segment sent exactly as written: malformed %-escapes, dot segments, encoded slashes. */
class Raw {
  constructor(readonly path: string) {}
}
const rawSegment = fc
  .oneof(
    fc.constantFrom(
      "%ZZ",
      "%",
      "a%2",
      "%E0%A4%A",
      "%C0%AF",
      "%00",
      "%2e%2e",
      "%2F",
      "%252F",
      "x%20y",
      "%F0%9F%98",
      "%uD800",
    ),
    fc.string({ maxLength: 12 }).map((s) => `${encodeURIComponent(s)}%${s.length % 2 ? "G1" : "D8"}`),
  )
  .map((p) => new Raw(p));
/** Junk for a path parameter: any JSON (its text becomes the segment) or a raw, often malformed, segment. */
const pathJunk = (key: string) => fc.oneof(fc.jsonValue({ maxDepth: 1 }), rawSegment).map((v) => ({ [key]: v }));

/** One path segment (or a malformed one, for junk): never a URIError on our side. */
const segment = (input: unknown, key: string): string => {
  const v = isObject(input) ? input[key] : input;
  if (v instanceof Raw) return v.path;
  if (typeof v !== "string") return encodeURIComponent(JSON.stringify(v) ?? "x");
  return v.isWellFormed() ? encodeURIComponent(v) : `${encodeURIComponent(v.toWellFormed())}%ZZ`;
};

function isObject(v: unknown): v is Input {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// Path ids must survive as one segment: "." and ".." would be resolved away by the URL parser.
const pathText = (max: number) => text(1, max).filter((s) => s !== "." && s !== "..");
/** Task ids the path takes as one segment but the schema refuses. */
const badPathTaskId = fc.constantFrom(
  "t-1",
  "task",
  "T-20260101-0000-abcdef",
  "t-20260101-0000-ABCDEF",
  "t-20260101-0000-abcdefg",
  "t-20260101-0000-abc%21f",
);

/** A spec whose taskId travels in the path: path-safe bad ids (an empty segment is another route). */
const withPathTask = (spec: InputSpec): InputSpec => ({
  ...spec,
  bad: { ...spec.bad, taskId: badPathTaskId },
  // Never missing: the path always holds one.
  required: (spec.required ?? []).filter((f) => f !== "taskId"),
});

/** The same spec with the task in the path, unvalidated there (decide reads the row by it). */
const withTaskRef = (spec: InputSpec): InputSpec => ({
  ...spec,
  valid: fc.tuple(spec.valid, taskRef(fx)).map(([input, taskId]) => ({ ...input, taskId })),
});

const idPath = (): InputSpec => ({
  valid: fc.record({ id: fc.oneof(fc.constantFrom(...Object.values(fx.tasks)), missingTaskId, pathText(60)) }),
  bad: {},
  open: true,
  junk: pathJunk("id"),
});

const taskFilterQuery = (): InputSpec => ({
  valid: fc.record(
    {
      status: fc.oneof(
        taskStatus,
        fc.uniqueArray(taskStatus, { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(taskStatus, { minLength: 2, maxLength: 8 }).map((a) => a.join(",")),
        // Repeats are one value (each distinct value is a bound SQL parameter, D1 takes 100).
        fc.tuple(taskStatus, fc.integer({ min: 21, max: 150 })).map(([st, n]) => Array.from({ length: n }, () => st)),
      ),
      since: sinceText,
      profile: profileChoice,
      limit: fc.integer({ min: 1, max: 500 }).map(String),
    },
    { requiredKeys: [] },
  ),
  bad: {
    status: fc.constantFrom(
      "nope",
      "failed,nope",
      Array.from({ length: 21 }, (_, i) => `s${i}`),
    ),
    since: badSince.filter((s) => typeof s === "string"),
    profile: badProfile.filter((p) => typeof p === "string" && !p.includes(",")),
    limit: fc.constantFrom("0", "501", "abc", "1.5", "-1", ""),
  },
});

const kvListQuery = (): InputSpec => ({
  valid: fc.record(
    {
      // Keys never hold a comma (the query splits lists on it).
      prefix: fc.stringMatching(/^[A-Za-z0-9:._/-]{0,50}$/),
      cursor: pathText(200).filter((s) => !s.includes(",")),
      limit: fc.integer({ min: 1, max: 1000 }).map(String),
    },
    { requiredKeys: [] },
  ),
  bad: {
    prefix: fc.constant("x".repeat(257)),
    cursor: fc.constant("x".repeat(2001)),
    limit: fc.constantFrom("0", "1001", "abc", "1.5"),
  },
});

const listQueryString = (): InputSpec => ({
  valid: fc.record({ taskId: taskRef(fx), limit: fc.integer({ min: 1, max: 200 }).map(String) }, { requiredKeys: [] }),
  bad: { taskId: fc.constantFrom("", "t-1", "task"), limit: fc.constantFrom("0", "201", "x", "1.5") },
});

const kvKeyPath = (): InputSpec => ({
  valid: fc.record({ key: fc.oneof(fc.constant(fx.kvKey), kvKey) }),
  // Not empty: "/api/kv/" is the list route's path plus a slash, another route.
  bad: { key: fc.constantFrom(" a", ".a", "a b", "a?b", "ä", "x".repeat(257)) },
  open: true,
  junk: pathJunk("key"),
});

const kindQuery = (): InputSpec => ({
  valid: fc.record({ kind: pathText(60) }, { requiredKeys: [] }),
  bad: {},
  open: true,
});

const records = ["checkpoints", "decisions", "transcripts"] as const;
const recordFixture = (r: (typeof records)[number]) =>
  r === "checkpoints" ? fx.checkpoint : r === "decisions" ? fx.decision : fx.transcript;
const creates = { checkpoints: checkpointCreate, decisions: decisionCreate, transcripts: transcriptCreate };

const ROUTES: Route[] = [
  {
    name: "POST /api/execute",
    spec: () => executeInput(fx),
    send: json("POST", "/api/execute"),
    ok: [429],
    blocked: true,
  },
  { name: "GET /api/tasks", spec: taskFilterQuery, send: query("/api/tasks"), ok: [200] },
  { name: "POST /api/tasks", spec: taskInit, send: json("POST", "/api/tasks"), ok: [201] },
  ...["", "/state", "/consensus"].map(
    (tail): Route => ({
      name: `GET /api/tasks/:id${tail}`,
      spec: idPath,
      send: (input) => api(`/api/tasks/${segment(input, "id")}${tail}`),
      ok: [200, 404],
    }),
  ),
  {
    name: "POST /api/tasks/:id/spec",
    spec: () => withPathTask(taskSpec(fx)),
    send: pathed("POST", (id) => `/api/tasks/${id}/spec`),
    ok: [200, 404],
  },
  {
    name: "POST /api/tasks/:id/write",
    spec: () => withPathTask(writeUp(fx)),
    send: pathed("POST", (id) => `/api/tasks/${id}/write`),
    ok: [201, 404],
  },
  {
    name: "POST /api/tasks/:id/deliver",
    spec: () => withPathTask(taskDeliver(fx)),
    send: pathed("POST", (id) => `/api/tasks/${id}/deliver`),
    ok: [404, 409],
  },
  {
    name: "GET /api/tasks/:id/diff",
    spec: () => withPathTask(taskDiff(fx)),
    send: (input) => {
      const { taskId, ...rest } = (isObject(input) ? input : {}) as Input;
      return query(`/api/tasks/${typeof taskId === "string" ? encodeURIComponent(taskId) : fx.tasks.init}/diff`)(rest);
    },
    ok: [404, 409],
  },
  { name: "POST /api/repos", spec: repoInput, send: json("POST", "/api/repos"), ok: [200] },
  {
    name: "DELETE /api/repos/:name",
    // In the path: a value is its text there (0 is the name "0"); junk is any segment.
    spec: () => ({
      valid: repoNameInput().valid,
      bad: { name: fc.constantFrom(".hidden", "-rf", "a..b", "a/b", "x".repeat(101)) },
      open: true,
      junk: pathJunk("name"),
    }),
    send: (input) => api(`/api/repos/${segment(input, "name")}`, { method: "DELETE" }),
    ok: [200],
  },
  {
    name: "POST /api/tasks/:id/close",
    spec: () => withPathTask(taskClose(fx)),
    send: pathed("POST", (id) => `/api/tasks/${id}/close`),
    ok: [200, 404, 409],
  },
  {
    name: "POST /api/tasks/:id/decide",
    spec: () => withTaskRef(humanEvent()),
    send: pathed("POST", (id) => `/api/tasks/${id}/decide`),
    ok: [404, 409],
  },
  {
    name: "POST /api/tasks/:id/budget",
    spec: () => withPathTask(breakerRaise(fx)),
    send: pathed("POST", (id) => `/api/tasks/${id}/budget`),
    ok: [404, 409],
  },
  { name: "GET /api/kv", spec: kvListQuery, send: query("/api/kv"), ok: [200] },
  ...(["GET", "DELETE"] as const).map(
    (method): Route => ({
      name: `${method} /api/kv/:key`,
      spec: kvKeyPath,
      send: (input) => api(`/api/kv/${segment(input, "key")}`, { method }),
      ok: [200, 404],
    }),
  ),
  {
    name: "PUT /api/kv/:key",
    spec: () => ({
      ...kvPut(fx),
      bad: { ...kvPut(fx).bad, key: kvKeyPath().bad.key as fc.Arbitrary<unknown> },
      // Never missing: the path always holds one.
      required: ["value"],
    }),
    send: (input) => {
      const { key: _key, ...body } = isObject(input) ? input : {};
      return api(`/api/kv/${segment(isObject(input) ? input : { key: fx.kvKey }, "key")}`, {
        method: "PUT",
        body: JSON.stringify(isObject(input) ? body : input) ?? "null",
      });
    },
    ok: [200],
  },
  ...records.flatMap((r): Route[] => [
    { name: `GET /api/${r}`, spec: listQueryString, send: query(`/api/${r}`), ok: [200] },
    { name: `POST /api/${r}`, spec: () => creates[r](fx), send: json("POST", `/api/${r}`), ok: [201, 404] },
    {
      name: `GET /api/${r}/:id`,
      // The id is read as is (a row or a 404): no shape to break, only junk to send.
      spec: () => ({
        valid: recordGet(recordFixture(r)).valid.filter((i) => i.id !== "." && i.id !== ".."),
        bad: {},
        open: true,
        junk: pathJunk("id"),
      }),
      send: (input) => api(`/api/${r}/${segment(input, "id")}`),
      ok: [200, 404],
    },
  ]),
  { name: "POST /api/breakers/ack", spec: breakerAck, send: json("POST", "/api/breakers/ack"), ok: [200, 409] },
  { name: "GET /api/stats", spec: kindQuery, send: query("/api/stats"), ok: [200] },
  { name: "GET /api/chooser", spec: kindQuery, send: query("/api/chooser"), ok: [200] },
  {
    name: "POST /api/replay",
    spec: () => replayInput(fx),
    send: json("POST", "/api/replay"),
    ok: [200, 404],
    blocked: true,
  },
  ...["/api/health", "/api/breakers", "/api/breakers/verify"].map(
    (path): Route => ({ name: `GET ${path}`, spec: kindQuery, send: query(path), ok: [200, 503] }),
  ),
];

const errorMessage = (body: string): string => {
  try {
    return String((JSON.parse(body) as { error?: { message?: string } }).error?.message ?? "");
  } catch {
    return "";
  }
};

/** A 404 of a valid input names the row it did not find (as sent, or as it appears %-encoded in a path). */
const namesARow = (message: string, input: unknown) =>
  namedValues(input).some(
    (v) => v !== "" && (message.includes(v) || (v.isWellFormed() && message.includes(encodeURIComponent(v)))),
  );

async function exercise(route: Route): Promise<Tally> {
  const tally = { valid: 0, bad: 0, junk: 0 };
  await fc.assert(
    fc.asyncProperty(cases(route.spec()), async (c) => {
      tally[c.kind] += 1;
      // A GET writes nothing whatever it is sent; the other routes must write nothing when they refuse.
      const writes = !route.name.startsWith("GET ");
      const before = c.kind === "valid" || !writes ? null : await rowCounts();
      const res = await route.send(c.input);
      const body = await res.text();
      const where = `${route.name} ${JSON.stringify(c).slice(0, 400)} → ${res.status} ${body.slice(0, 400)}`;
      expect(res.status, where).toBeLessThan(500);
      const message = errorMessage(body);
      if (c.kind === "valid") {
        expect(route.ok, where).toContain(res.status);
        if (res.status === 404) expect(namesARow(message, c.input), where).toBe(true);
        return;
      }
      if (c.kind === "bad") {
        expect(res.status, where).toBeGreaterThanOrEqual(400);
        expect(message, where).toContain(c.field);
      }
      // Refused input writes nothing (a junk input the schema happens to accept may write).
      if (writes && res.status >= 400) expect(await rowCounts(), where).toEqual(before);
    }),
    { numRuns: RUNS },
  );
  return tally;
}

describe("REST routes under generated inputs", () => {
  it("covers every route the API serves", () => {
    expect(ROUTES.map((r) => r.name)).toHaveLength(new Set(ROUTES.map((r) => r.name)).size);
    expect(ROUTES.length).toBeGreaterThanOrEqual(30);
  });

  for (const route of ROUTES) {
    it(`${route.name}: ${RUNS} cases, 0 ≥ 500; valid accepted, broken fields named`, { timeout: 60_000 }, async () => {
      await runSchema(RUNS, route.blocked === true, () => exercise(route));
    });
  }

  it("POST /api/callback/:taskId: any body, signed or not, for any task: a 4xx, never a 5xx", {
    timeout: 60_000,
  }, async () => {
    const secret = env.CALLBACK_SECRET;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(taskRef(fx), pathText(40)),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 60 }),
        ),
        fc.constantFrom("none", "good", "bad"),
        async (taskId, body, signature) => {
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (signature === "good") headers[SIGNATURE_HEADER] = await signBody(secret, body);
          if (signature === "bad") headers[SIGNATURE_HEADER] = "sha256=00";
          const res = await api(`/api/callback/${segment(taskId, "id")}`, {
            method: "POST",
            body,
            headers,
            token: null,
          });
          const where = `${taskId} ${signature} ${body.slice(0, 200)} → ${res.status} ${await res.text()}`;
          expect(res.status, where).toBeGreaterThanOrEqual(400);
          expect(res.status, where).toBeLessThan(500);
          if (signature !== "good") expect(res.status, where).toBe(401);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
