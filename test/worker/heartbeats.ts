/** Heartbeats as an executor of the pool sends them: signed with the test's CALLBACK_SECRET, through the Worker's fetch. */
import { exports } from "cloudflare:workers";
import { type Heartbeat, SIGNATURE_HEADER, signBody } from "@vault-mcp/contract";

const SECRET = "test-callback-secret";

/** A heartbeat of executor `id` at http://<id>.test, holding `demo`, sonnet ready. */
export function heartbeat(id: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    id,
    url: `http://${id}.test`,
    sentAt: Date.now(),
    version: "0.1.0",
    capacity: 2,
    running: [],
    queued: 0,
    repos: ["demo"],
    readiness: {
      profiles: {
        sonnet: { ready: true },
        codex: { ready: true },
        deepseek: { ready: false, missing: "set DEEPSEEK_API_KEY" },
      },
      consensus: { ready: false, missing: "consensus needs sonnet and codex" },
      direct: { claude: "sonnet", codex: "codex", gemini: "gemini-flash" },
    },
    draining: false,
    ...over,
  };
}

/** POSTs `body` to the heartbeat route, signed (default), with another signature, or none. */
export async function beat(body: string, signature: string | null | "sign" = "sign"): Promise<Response> {
  const sig = signature === "sign" ? await signBody(SECRET, body) : signature;
  return exports.default.fetch(
    new Request("http://localhost/api/executors/heartbeat", {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...(sig ? { [SIGNATURE_HEADER]: sig } : {}) },
    }),
  );
}

/** Executor `id` joins (or heartbeats again); throws when the Worker refuses it. */
export async function join(id: string, over: Partial<Heartbeat> = {}): Promise<void> {
  const res = await beat(JSON.stringify(heartbeat(id, over)));
  if (res.status !== 200) throw new Error(`heartbeat refused: ${res.status} ${await res.text()}`);
}
