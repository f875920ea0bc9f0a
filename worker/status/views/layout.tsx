/**
 * The frame of every status page. Why hono/jsx for the pages: every child and attribute is escaped by
 * default (agent and model text is hostile), the templates are type-checked like the rest of the
 * code (a wrong prop is a compile error), and it renders to a string in workerd with no DOM and a few
 * KB of runtime — no client framework, no build step besides the one wrangler already runs. No page
 * uses an inline script, an inline style or a style attribute: the CSP forbids them (respond.ts).
 */
import type { Child, FC } from "hono/jsx";
import type { Session } from "../session.ts";

export const ASSETS = "/status/assets";

export type Section = "tasks" | "spend" | "executors";

export const CsrfField: FC<{ session: Session }> = ({ session }) => (
  <input type="hidden" name="csrf" value={session.csrf} />
);

const NAV: readonly [Section, string, string][] = [
  ["tasks", "Tasks", "/status"],
  ["spend", "Spend", "/status/spend"],
  ["executors", "Executors", "/status/executors"],
];

export const Document: FC<{ title: string; children?: Child }> = ({ title, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      <title>{`${title} · vault-mcp`}</title>
      <link rel="icon" href={`${ASSETS}/favicon.svg`} type="image/svg+xml" />
      <link rel="stylesheet" href={`${ASSETS}/status.css`} />
      <script type="module" src={`${ASSETS}/status.js`} />
    </head>
    <body>{children}</body>
  </html>
);

export const Layout: FC<{ title: string; section: Section | null; session: Session; children?: Child }> = ({
  title,
  section,
  session,
  children,
}) => (
  <Document title={title}>
    <header class="top">
      <a class="brand" href="/status">
        vault-mcp
      </a>
      <nav>
        {NAV.map(([key, label, href]) => (
          <a
            href={href}
            class={key === section ? "here" : undefined}
            aria-current={key === section ? "page" : undefined}
          >
            {label}
          </a>
        ))}
      </nav>
      <form method="post" action="/status/sign-out" class="sign-out">
        <CsrfField session={session} />
        <button type="submit">Sign out</button>
      </form>
    </header>
    <main>{children}</main>
  </Document>
);

/** A notice above a page's content: what an action did or why it was refused. */
export const Notice: FC<{ kind: "ok" | "error"; text: string | null }> = ({ kind, text }) =>
  text ? (
    <p class={`notice ${kind}`} role={kind === "error" ? "alert" : "status"} id="notice">
      {text}
    </p>
  ) : null;

export const StatusBadge: FC<{ status: string }> = ({ status }) => (
  <span class={`badge s-${status}`}>{status.replace("_", " ")}</span>
);
