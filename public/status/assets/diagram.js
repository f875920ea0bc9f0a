// Draws the result's Mermaid inside the sandboxed diagram frame, with Mermaid served from our own
// assets (never a CDN). securityLevel strict sanitises and disables click handlers; labels are SVG
// text, never HTML; `secure` stops a diagram's own config from changing any of that.
import mermaid from "./vendor/mermaid/mermaid.esm.min.mjs";

const source = document.getElementById("source");
const out = document.getElementById("out");

mermaid.initialize({
  startOnLoad: false,
  securityLevel: "strict",
  htmlLabels: false,
  flowchart: { htmlLabels: false },
  theme: "neutral",
  secure: ["secure", "securityLevel", "startOnLoad", "maxTextSize", "htmlLabels", "flowchart", "theme", "themeCSS"],
});

try {
  const { svg } = await mermaid.render("result-diagram", source.textContent ?? "");
  out.innerHTML = svg;
  source.hidden = true;
  document.body.dataset.rendered = "svg";
} catch (err) {
  // The source stays visible as text; say why it is not a picture.
  const note = document.createElement("p");
  note.textContent = `The diagram could not be drawn: ${err instanceof Error ? err.message : String(err)}`;
  out.replaceChildren(note);
  document.body.dataset.rendered = "error";
}
parent.postMessage({ height: document.documentElement.scrollHeight }, "*");
