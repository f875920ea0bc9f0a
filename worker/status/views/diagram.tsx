/**
 * The diagram frame's document: the neutralised Mermaid source as text, drawn by diagram.js (Mermaid,
 * served from our own assets). It is loaded in `<iframe sandbox="allow-scripts">` under DIAGRAM_CSP.
 */
import type { FC } from "hono/jsx";
import { ASSETS } from "./layout.tsx";

export const DiagramFrame: FC<{ source: string }> = ({ source }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>diagram</title>
      <link rel="stylesheet" href={`${ASSETS}/diagram.css`} />
      <script type="module" src={`${ASSETS}/diagram.js`} />
    </head>
    <body>
      <pre id="source">{source}</pre>
      <div id="out" />
    </body>
  </html>
);
