/**
 * HMAC-SHA256 signature for executor → Worker callbacks. Header value: `t=<unix seconds>,v1=<hex>`,
 * where the MAC covers `${t}.${body}`, so a replayed body with a fresh timestamp does not verify.
 * WebCrypto only: the same code runs in Node 22 and in workerd.
 */
export const SIGNATURE_HEADER = "x-vault-signature";
export const DEFAULT_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

// The return type is inferred: workerd and Node name the WebCrypto key type differently.
async function hmacKey(secret: string) {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function toHex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export async function signBody(
  secret: string,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(`${nowSeconds}.${body}`));
  return `t=${nowSeconds},v1=${toHex(mac)}`;
}

/** Constant-time verification (crypto.subtle.verify compares MACs without early exit). */
export async function verifyBody(
  secret: string,
  body: string,
  header: string | null,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): Promise<boolean> {
  const match = header ? /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!match) return false;
  const t = Number(match[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const mac = fromHex(match[2] as string);
  if (!mac) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), mac, encoder.encode(`${t}.${body}`));
}

/**
 * The Worker's answers to a callback that end the executor's delivery without an acknowledgement:
 * the task no longer wants this result. 404: no such task, or no workflow instance for it. 409 and
 * 410: the task's instance has finished and takes no result event any more (409 is what Workers
 * before 410 existed answer). A 2xx acknowledges the callback. Every other answer (401 while a
 * secret is rotated, 400/413/422 until a deploy fixes a contract mismatch, 408, 429, 5xx) and every
 * network error leaves it owed: the executor retries, with capped backoff, across its restarts.
 */
export const CALLBACK_UNWANTED_STATUSES: readonly number[] = [404, 409, 410];
