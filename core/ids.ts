/** Ids carry the time they were made (readable in the dashboard) and 6 random base-36 chars. */
function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return [...bytes].map((b) => (b % 36).toString(36)).join("");
}

export function newTaskId(now: number): string {
  const iso = new Date(now).toISOString(); // 2026-11-24T15:30:00.000Z
  return `t-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}-${randomSuffix()}`;
}

export function newId(prefix: string, now: number): string {
  return `${prefix}-${now.toString(36)}-${randomSuffix()}`;
}
