/**
 * The consent page as plain server-rendered HTML: no script, no third-party asset, readable on a
 * phone. Every client-supplied string (name, domain, redirect host, scopes) comes from a DCR
 * registration or a CIMD document, so an attacker chooses it: all of it is escaped.
 */
import type { ConsentDescription } from "@cloudflare/workers-oauth-provider";

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the `vault` scope lets a client do, in the owner's words. */
const SCOPE_TEXT: Record<string, string> = {
  vault: "use every vault-mcp tool: run coding tasks (they cost money), read results, and read and write task notes",
};

const STYLE = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
main{max-width:30rem;margin:0 auto;padding:1.5rem 1rem}
.card{background:#fff;border-radius:12px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin:0 0 .75rem}
dl{margin:0 0 1rem}dt{font-weight:600;margin-top:.6rem}dd{margin:0;overflow-wrap:anywhere}
.warn{background:#fef3c7;border-radius:8px;padding:.6rem .8rem}
.error{background:#fee2e2;border-radius:8px;padding:.6rem .8rem;color:#7f1d1d}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=password]{box-sizing:border-box;width:100%;font-size:1rem;padding:.6rem;border:1px solid #a1a1aa;border-radius:8px}
.buttons{display:flex;flex-direction:row-reverse;gap:.75rem;margin-top:1rem}
button{flex:1;font-size:1rem;padding:.7rem;border-radius:8px;border:1px solid #a1a1aa;background:#fff}
button.allow{background:#18181b;color:#fff;border-color:#18181b}
small{color:#52525b}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body><main><div class="card">
${body}
</div></main></body>
</html>`;
}

export interface ConsentView {
  details: ConsentDescription;
  /** The library's one-time handle, bound to this browser by a cookie. */
  handle: string;
  /** The scopes that will be granted (what the client asked for is in `details.scope`). */
  grant: readonly string[];
  /** The authorization request's query string, posted back so a refusal can offer to start again. */
  query: string;
}

export function consentPage(view: ConsentView): string {
  const { details, handle, grant, query } = view;
  const name = escapeHtml(details.clientName);
  const who = details.clientDomain
    ? `Published by <strong>${escapeHtml(details.clientDomain)}</strong> (its client id is a URL on that domain).`
    : "This app registered itself: its name is not verified.";
  const asked = details.scope.length > 0 ? details.scope.map(escapeHtml).join(" ") : "(none named)";
  const granted = grant
    .map((s) => `<li><code>${escapeHtml(s)}</code>: ${escapeHtml(SCOPE_TEXT[s] ?? s)}</li>`)
    .join("");
  const loopback = details.redirectIsLoopback
    ? `<p class="warn"><strong>Access goes to an app on your own computer.</strong> Any local program can claim this name: continue only if you just started signing in from it.</p>`
    : "";
  return layout(
    `Allow ${details.clientName}?`,
    `<h1>Allow <span id="client-name">${name}</span> to use vault-mcp?</h1>
<p>${who}</p>
<dl>
<dt>Access will be sent to</dt><dd id="redirect-host">${escapeHtml(details.redirectHost)}</dd>
<dt>It asked for</dt><dd id="scopes-asked">${asked}</dd>
<dt>Allowing grants</dt><dd><ul>${granted}</ul></dd>
</dl>
${loopback}
<!-- Allow comes first so Enter in the secret field means Allow; row-reverse puts it on the right. -->
<form method="post">
<input type="hidden" name="handle" value="${escapeHtml(handle)}">
<input type="hidden" name="query" value="${escapeHtml(query)}">
<label for="secret">Owner secret</label>
<input type="password" id="secret" name="secret" autocomplete="current-password" autofocus>
<small>The OWNER_SECRET set on this server (not the API token).</small>
<div class="buttons">
<button type="submit" name="decision" value="allow" class="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  );
}

/** A page that ends the flow here: an error the owner must read, with an optional way to start over. */
export function messagePage(title: string, message: string, retryUrl?: string): string {
  const retry = retryUrl ? `<p><a href="${escapeHtml(retryUrl)}">Try again</a></p>` : "";
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>\n<p class="error" id="message">${escapeHtml(message)}</p>\n${retry}`,
  );
}
