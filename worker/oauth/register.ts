/**
 * Dynamic client registration (RFC 7591) is open: anyone may register a client, and each one is
 * stored and its name shown on the consent page. Before the library sees a registration, this
 * caps what a client may send: the body's size and nesting, the number of fields and redirect URIs,
 * and the length of each field. Registrations are also limited per address (limits.ts).
 */
import { z } from "zod";
import { AppError, formatZodError } from "../../core/errors.ts";
import { nestsDeeperThan } from "../../core/json-limits.ts";
import { readBodyText } from "../http.ts";
import { limitedPerAddress } from "./limits.ts";

export const MAX_REGISTRATION_BYTES = 16 * 1024;
const MAX_FIELDS = 40;
/** A registration is flat; `jwks` ({keys: [{…}]}) is its deepest field. */
const MAX_DEPTH = 4;

const Uri = z.string().max(2000, "at most 2000 characters");
const Short = z.string().max(200, "at most 200 characters");

/** The fields the consent page and the library use; unknown ones (RFC 7591 allows them) pass. */
export const RegistrationCaps = z.looseObject({
  client_name: z.string().max(100, "at most 100 characters").optional(),
  redirect_uris: z.array(Uri).max(5, "at most 5 redirect URIs").optional(),
  client_uri: Uri.optional(),
  logo_uri: Uri.optional(),
  policy_uri: Uri.optional(),
  tos_uri: Uri.optional(),
  jwks_uri: Uri.optional(),
  contacts: z.array(z.string().max(320, "at most 320 characters")).max(5, "at most 5 contacts").optional(),
  scope: Short.optional(),
  software_id: Short.optional(),
  software_version: Short.optional(),
  token_endpoint_auth_method: Short.optional(),
  grant_types: z.array(Short).max(5, "at most 5 grant types").optional(),
  response_types: z.array(Short).max(5, "at most 5 response types").optional(),
});

/** RFC 7591 §3.2.2's error body. */
function registrationError(status: number, error: string, description: string, headers?: Headers): Response {
  const h = new Headers(headers);
  h.set("cache-control", "no-store");
  return Response.json({ error, error_description: description }, { status, headers: h });
}

/** Why this registration body is refused, or null. */
function refusal(body: unknown): string | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "the body must be a JSON object";
  if (nestsDeeperThan(body, MAX_DEPTH)) return `the metadata nests deeper than ${MAX_DEPTH} levels`;
  if (Object.keys(body).length > MAX_FIELDS) return `at most ${MAX_FIELDS} fields`;
  const capped = RegistrationCaps.safeParse(body);
  return capped.success ? null : formatZodError(capped.error);
}

/**
 * Checks a POST /oauth/register and answers the refusal, or the request to hand to the library
 * (the body already read, so it is rebuilt from the text).
 */
export async function screenRegistration(request: Request, env: Env): Promise<Response | Request> {
  const limited = await limitedPerAddress(env, request, "register");
  if (limited) return registrationError(429, "temporarily_unavailable", limited.message, limited.headers);
  let text: string;
  try {
    text = await readBodyText(request, MAX_REGISTRATION_BYTES);
  } catch (err) {
    if (err instanceof AppError && err.code === "payload_too_large")
      return registrationError(
        413,
        "invalid_client_metadata",
        `the registration is larger than ${MAX_REGISTRATION_BYTES} bytes`,
      );
    throw err;
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    return registrationError(400, "invalid_client_metadata", "the registration is not valid JSON");
  }
  const why = refusal(body);
  if (why) return registrationError(400, "invalid_client_metadata", why);
  return new Request(request.url, { method: "POST", headers: request.headers, body: text });
}
