/** One benchmark module = `bench/<area>-<name>.bench.ts` exporting `run: Bench`. `npm run bench` runs them all. */
export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** Human-readable goal, e.g. "≤ 5 ms". */
  goal?: string;
  /** Whether the goal was met (omit when there is no goal). */
  met?: boolean;
}

export interface BenchReport {
  title: string;
  /** What was run, e.g. "50 runs, MAX_EXECUTORS=2". */
  runs: string;
  figures: BenchFigure[];
  notes?: string[];
  /** Lines printed after the figures (the last one ends the bench's output). */
  summary?: string[];
  /** A Markdown section of its own in BENCHMARKS.md (headings from level 2). */
  details?: string;
}

export type Bench = () => Promise<BenchReport>;
