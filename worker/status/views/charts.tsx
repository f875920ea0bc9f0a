/**
 * Charts as server-rendered SVG: no chart library and no script. Sizes are SVG attributes (a
 * `width` on a rect is not a style attribute, so the CSP's style-src 'self' allows it); colours come
 * from classes in status.css. Labels sit in the HTML beside the bars, readable by screen readers and
 * in the page's text.
 */
import type { FC } from "hono/jsx";

const clamp = (n: number) => Math.max(0, Math.min(100, n));
const pct = (value: number, max: number) => (max > 0 ? clamp((value / max) * 100) : 0);
const fixed = (n: number) => Number(n.toFixed(2));

/** One value against a limit: the bar fills to the value; a tick marks the limit. */
export const Meter: FC<{ value: number; limit: number; warnAt?: number; label: string }> = ({
  value,
  limit,
  warnAt,
  label,
}) => {
  const scale = Math.max(limit, value) * 1.05 || 1;
  const cls = value >= limit ? "over" : warnAt !== undefined && value >= warnAt ? "warn" : "ok";
  return (
    <svg class={`meter ${cls}`} viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={label}>
      <rect class="track" x="0" y="0" width="100" height="10" />
      <rect class="fill" x="0" y="0" width={fixed(pct(value, scale))} height="10" />
      <rect class="limit" x={fixed(pct(limit, scale) - 0.4)} y="0" width="0.8" height="10" />
    </svg>
  );
};

/** A span inside a whole (a waterfall row): where an attempt started and how long it ran. */
export const Span: FC<{ start: number; length: number; total: number; cls: string; label: string }> = ({
  start,
  length,
  total,
  cls,
  label,
}) => {
  const x = pct(start, total);
  const w = Math.max(0.6, Math.min(100 - x, pct(length, total)));
  return (
    <svg class={`span ${cls}`} viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={label}>
      <rect class="track" x="0" y="0" width="100" height="10" />
      <rect class="fill" x={fixed(x)} y="0" width={fixed(w)} height="10" />
    </svg>
  );
};

/** A share (0–1) as a bar, e.g. a success rate. */
export const Share: FC<{ value: number | null; label: string }> = ({ value, label }) => (
  <svg class="share" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={label}>
    <rect class="track" x="0" y="0" width="100" height="10" />
    {value === null ? null : <rect class="fill" x="0" y="0" width={fixed(clamp(value * 100))} height="10" />}
  </svg>
);

/** Columns over time (spend per day), with the daily limit as a line. */
export const Columns: FC<{ points: { label: string; value: number }[]; limit: number; label: string }> = ({
  points,
  limit,
  label,
}) => {
  const max = Math.max(limit, ...points.map((p) => p.value)) * 1.1 || 1;
  const n = Math.max(points.length, 1);
  const w = 100 / n;
  // A day that spent anything shows at least a sliver, however small against the limit.
  const y = (v: number) => fixed(40 - Math.max(v > 0 ? 0.8 : 0, (v / max) * 40));
  return (
    <svg class="columns" viewBox="0 0 100 40" preserveAspectRatio="none" role="img" aria-label={label}>
      <rect class="track" x="0" y="0" width="100" height="40" />
      {points.map((p, i) => (
        <rect
          class={p.value >= limit ? "fill over" : "fill"}
          x={fixed(i * w + w * 0.15)}
          y={y(p.value)}
          width={fixed(w * 0.7)}
          height={fixed(40 - y(p.value))}
        >
          <title>{`${p.label}: $${p.value.toFixed(2)}`}</title>
        </rect>
      ))}
      <rect class="limit" x="0" y={y(limit) - 0.3} width="100" height="0.6" />
    </svg>
  );
};
