/** The sign-in page: the owner secret (OWNER_SECRET, the same one the OAuth consent page asks for). */
import type { FC } from "hono/jsx";
import { Document } from "./layout.tsx";

export const SignInPage: FC<{ next: string; message: string | null }> = ({ next, message }) => (
  <Document title="Sign in">
    <main class="narrow">
      <div class="card">
        <h1>vault-mcp status</h1>
        {message ? (
          <p class="notice error" role="alert" id="message">
            {message}
          </p>
        ) : null}
        <form method="post" action="/status/sign-in">
          <input type="hidden" name="next" value={next} />
          <label for="secret">Owner secret</label>
          <input type="password" id="secret" name="secret" autocomplete="current-password" required autofocus />
          <small>OWNER_SECRET, as set on this server (in .dev.vars locally); not the API token.</small>
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
      </div>
    </main>
  </Document>
);

/** A page that explains why nothing else can be shown (no OWNER_SECRET, too many attempts…). */
export const MessagePage: FC<{ title: string; message: string; link?: { href: string; text: string } }> = ({
  title,
  message,
  link,
}) => (
  <Document title={title}>
    <main class="narrow">
      <div class="card">
        <h1>{title}</h1>
        <p class="notice error" id="message">
          {message}
        </p>
        {link ? <a href={link.href}>{link.text}</a> : null}
      </div>
    </main>
  </Document>
);
