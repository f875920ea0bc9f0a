/**
 * Why a delivery or discard failed, as a wire code the Worker acts on (contract DeliveryErrorCode):
 * `delivery_auth` fix the credentials, `delivery_network` retry, `delivery_api` read the message,
 * `delivery_refused` leave the branch alone; `not_deliverable` the job has nothing to deliver.
 * Messages say what to fix and never hold a token (remote output is redacted before it gets here).
 */
import type { DeliveryErrorCode } from "@vault-mcp/contract";
import type { RemoteGitError } from "../remote/remote-git.ts";

export type DeliveryFailure = DeliveryErrorCode | "not_deliverable";

const STATUS: Record<DeliveryFailure, number> = {
  delivery_auth: 502,
  delivery_network: 502,
  delivery_api: 502,
  delivery_refused: 409,
  not_deliverable: 409,
};

export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly code: DeliveryFailure;
  readonly status: number;
  constructor(code: DeliveryFailure, message: string) {
    super(message);
    this.code = code;
    this.status = STATUS[code];
  }
}

/** What to do about a refused credential for `url`'s host. */
export function credentialsHint(url: string, credentialsFile: string | undefined): string {
  const u = new URL(url);
  const line = `${u.protocol}//USER:TOKEN@${u.host}`;
  return credentialsFile
    ? `put a line '${line}' with a token that may read and push the repository in ${credentialsFile} (GIT_CREDENTIALS), then deliver again`
    : `set GIT_CREDENTIALS on the executor to a file (mode 0600) holding a line '${line}', then deliver again`;
}

/** A failed push or ls-remote as a DeliveryError. */
export function fromRemote(err: RemoteGitError, url: string, credentialsFile: string | undefined): DeliveryError {
  const host = new URL(url).host;
  switch (err.kind) {
    case "auth":
      return new DeliveryError(
        "delivery_auth",
        `${host} refused the credentials (${err.message}); ${credentialsHint(url, credentialsFile)}`,
      );
    case "network":
      return new DeliveryError("delivery_network", `could not reach ${host} (${err.message}); retry later`);
    default:
      return new DeliveryError("delivery_api", `${host} refused the push: ${err.message}`);
  }
}
