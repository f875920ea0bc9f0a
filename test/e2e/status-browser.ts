/**
 * Debian's Chromium, driven by playwright-core (nothing is downloaded), for the status page suites:
 * one browser per file, a signed-in context, and a recorder of what a page tried to do behind the
 * reader's back (dialogs, console errors, requests to anywhere but the Worker).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./browser-oauth.ts";

export const DOCS = path.resolve(import.meta.dirname, "..", "..", "docs");

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
}

/** Signs in through the page's own form; returns the answer's status. */
export async function signIn(page: Page, workerUrl: string, secret: string): Promise<number> {
  if (!page.url().includes("/status/sign-in")) await page.goto(`${workerUrl}/status/sign-in`);
  await page.fill("#secret", secret);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/status/sign-in") && r.request().method() === "POST"),
    page.click('button[type="submit"]'),
  ]);
  await page.waitForLoadState("domcontentloaded");
  return answer.status();
}

export interface Tripwires {
  dialogs: string[];
  consoleErrors: string[];
  /** Requests to anything but the Worker's own origin (an `<img src=x>` would be one, to the Worker). */
  foreign: string[];
  /** Requests to a path the pages never link (what a hostile `src=x` would fetch), and any image. */
  strayPaths: string[];
}

const OUR_PATHS =
  /^\/status(?:\/assets\/.+|\/sign-(?:in|out)|\/spend(?:\/ack)?|\/executors|\/tasks\/t-[0-9a-z-]+(?:\/(?:live|diagram|diff|decide|budget|replay|deliver))?)?$/;

/** Records every dialog, console error and stray request of `page` and its frames. */
export function tripwires(page: Page, workerUrl: string): Tripwires {
  const t: Tripwires = { dialogs: [], consoleErrors: [], foreign: [], strayPaths: [] };
  const origin = new URL(workerUrl).origin;
  page.on("dialog", (d) => {
    t.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("console", (m) => {
    if (m.type() === "error") t.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => t.consoleErrors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.origin !== origin) t.foreign.push(r.url());
    else if (!OUR_PATHS.test(u.pathname) || (r.resourceType() === "image" && !u.pathname.endsWith("/favicon.svg")))
      t.strayPaths.push(u.pathname);
  });
  return t;
}

/** Writes docs/<name>.png only when UPDATE_STATUS_SCREENSHOTS is set (the consent page's rule). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.UPDATE_STATUS_SCREENSHOTS) return;
  await page.screenshot({ path: path.join(DOCS, `${name}.png`), fullPage: true });
}
