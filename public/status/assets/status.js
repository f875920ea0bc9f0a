// The status page's only script (no inline script anywhere: the CSP forbids it).
//  - A task page's #live part carries data-poll while the task runs: fetch that fragment every
//    second and swap it in, until the fragment comes back without data-poll (the task ended).
//  - The result's diagram frame (sandboxed, an opaque origin) posts its height: size the frame.
const POLL_MS = 1000;

async function poll() {
  const live = document.getElementById("live");
  const url = live?.dataset.poll;
  if (!live || !url) return;
  if (!document.hidden) {
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (res.status === 401 || res.status === 403 || res.redirected) return; // signed out: stop
      if (res.ok) {
        const next = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("live");
        if (next) live.replaceWith(document.importNode(next, true));
      }
    } catch {
      // The Worker is restarting or the network dropped: try again on the next tick.
    }
  }
  setTimeout(poll, POLL_MS);
}

addEventListener("message", (event) => {
  for (const frame of document.querySelectorAll("iframe.diagram")) {
    if (event.source !== frame.contentWindow) continue;
    const height = Number(event.data?.height);
    if (Number.isFinite(height) && height > 0) frame.height = String(Math.min(Math.ceil(height), 4000));
  }
});

setTimeout(poll, POLL_MS);
