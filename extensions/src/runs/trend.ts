/**
 * The trend of a pipeline's duration and cost, as the Pipelines panel draws it: the last
 * finished runs of the jobs API's `PipelineDetail.trend` become sparkline points (an SVG
 * polyline), the last value and its change against the median of the runs before it.
 * Pure functions, tested with jest (test/trend.spec.ts).
 */
import type { Schemas } from '../api/types';
import { formatBytes, formatSeconds } from './resources';

export type ITrendPoint = Schemas['TrendPoint'];
export type IPipelineTrend = Schemas['PipelineTrend'];
export type ITaskCheck = Schemas['TaskCheckInfo'];

/** Sparkline size, px. */
export const SPARK_WIDTH = 80;
export const SPARK_HEIGHT = 18;

/** The median of `values` (null for none). */
export function median(values: number[]): number | null {
  if (values.length === 0) {
    return null;
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The last value's change against the median of the earlier values, as a fraction
 * (0.25: 25% more); null with fewer than two values or a zero median.
 */
export function changeVsMedian(values: number[]): number | null {
  if (values.length < 2) {
    return null;
  }
  const m = median(values.slice(0, -1));
  if (m === null || m === 0) {
    return null;
  }
  return (values[values.length - 1] - m) / m;
}

/**
 * `values` as SVG polyline points in a `width` x `height` box: x spread evenly, the
 * smallest value at the bottom (a flat series is drawn mid-height). One value: a dot's
 * point in the middle.
 */
export function sparkPoints(
  values: number[],
  width = SPARK_WIDTH,
  height = SPARK_HEIGHT
): Array<[number, number]> {
  if (values.length === 0) {
    return [];
  }
  const pad = 1;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const round = (n: number) => Math.round(n * 10) / 10;
  return values.map((v, i) => {
    const x = values.length > 1 ? pad + i * step : width / 2;
    const y = hi === lo ? height / 2 : pad + ((hi - v) / (hi - lo)) * (height - 2 * pad);
    return [round(x), round(y)];
  });
}

/** `+25%`, `-3%`, `±0%`. */
export function formatChange(change: number): string {
  const pct = Math.round(change * 100);
  return pct === 0 ? '±0%' : `${pct > 0 ? '+' : ''}${pct}%`;
}

/** `0.0123 EUR`, `12.50 USD`. */
export function formatCost(cost: number, currency?: string | null): string {
  const text = cost >= 1 ? cost.toFixed(2) : cost.toFixed(4);
  return currency ? `${text} ${currency}` : text;
}

/** `CPU 12 s, peak memory 1.5 GB` of a run; null when neither was measured. */
export function lastUsage(run: ITrendPoint | undefined): string | null {
  if (!run) {
    return null;
  }
  const parts: string[] = [];
  if (run.cpu_seconds > 0) {
    parts.push(`CPU ${formatSeconds(run.cpu_seconds)}`);
  }
  if (run.peak_rss_bytes !== null && run.peak_rss_bytes !== undefined) {
    parts.push(`peak memory ${formatBytes(run.peak_rss_bytes)}`);
  }
  return parts.length ? parts.join(', ') : null;
}

export interface ISparkline {
  key: 'duration' | 'cost';
  label: string;
  points: Array<[number, number]>;
  last: string;
  /** The last run against the median of the runs before it; null if unknown. */
  change: number | null;
  changeText: string | null;
  title: string;
}

/**
 * The duration and cost sparklines of a pipeline's trend (runs oldest first); no
 * duration line without a timed run, no cost line when every run cost nothing.
 */
export function trendSparklines(trend: IPipelineTrend | null | undefined): ISparkline[] {
  const runs = trend?.runs ?? [];
  const out: ISparkline[] = [];
  const durations = runs
    .map(r => r.duration_seconds)
    .filter((d): d is number => d !== null && d !== undefined);
  const line = (
    key: ISparkline['key'],
    label: string,
    values: number[],
    fmt: (v: number) => string
  ) => {
    const change = changeVsMedian(values);
    const last = fmt(values[values.length - 1]);
    const med = median(values.slice(0, -1));
    out.push({
      key,
      label,
      points: sparkPoints(values),
      last,
      change,
      changeText: change === null ? null : formatChange(change),
      title:
        `${label} of the last ${values.length} finished runs; last ${last}` +
        (med === null ? '' : `, median before it ${fmt(med)}`)
    });
  };
  if (durations.length) {
    line('duration', 'Duration', durations, formatSeconds);
    const used = lastUsage(runs[runs.length - 1]);
    if (used) {
      out[0].title += `. The last run used ${used}`;
    }
  }
  const costs = runs.map(r => r.cost ?? 0);
  if (costs.some(c => c > 0)) {
    line('cost', 'Cost', costs, c => formatCost(c, trend?.currency));
  }
  return out;
}
