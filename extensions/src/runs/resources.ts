/**
 * What an attempt used, as the run detail shows it: CPU seconds, peak memory,
 * rows and bytes written, queue wait, lateness and cost (the jobs API's
 * `AttemptInfo.resources` and `.cost`). Pure functions, tested with jest.
 */
import type { IAttempt } from '../api/types';

export interface IResourceItem {
  key: string;
  label: string;
  value: string;
  title: string;
}

/** `1.5 GB`, `512 MB`, `900 B`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** `0.42 s`, `12 s`, `3m 05s`. */
export function formatSeconds(s: number): string {
  if (s < 10) {
    return `${s.toFixed(2)} s`;
  }
  if (s < 60) {
    return `${Math.round(s)} s`;
  }
  const m = Math.floor(s / 60);
  const rest = Math.round(s - 60 * m);
  return `${m}m ${String(rest).padStart(2, '0')}s`;
}

/** `1,234,567`. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * The measured resources of an attempt, in display order; nothing that was
 * not measured. `currency` is the run's (costs.yaml).
 */
export function attemptResources(
  attempt: Pick<IAttempt, 'resources' | 'cost'>,
  currency?: string | null
): IResourceItem[] {
  const r = attempt.resources;
  const out: IResourceItem[] = [];
  const add = (key: string, label: string, value: string, title: string) =>
    out.push({ key, label, value, title });
  if (r) {
    if (r.cpu_seconds !== null && r.cpu_seconds !== undefined) {
      add('cpu', 'CPU', formatSeconds(r.cpu_seconds), "CPU time of the kernel's process tree");
    }
    if (r.peak_rss_bytes !== null && r.peak_rss_bytes !== undefined) {
      add('memory', 'Peak memory', formatBytes(r.peak_rss_bytes), 'Peak resident memory (RSS)');
    }
    if (r.rows_written !== null && r.rows_written !== undefined) {
      add('rows', 'Rows written', count(r.rows_written), "Rows of the attempt's lake writes");
    }
    if (r.bytes_written !== null && r.bytes_written !== undefined) {
      add('bytes', 'Written', formatBytes(r.bytes_written), 'Bytes of the data files written');
    }
    if (r.queue_wait_seconds !== null && r.queue_wait_seconds !== undefined) {
      add(
        'queue',
        'Queued',
        formatSeconds(r.queue_wait_seconds),
        'Wait before the attempt started'
      );
    }
    if (r.lateness_seconds !== null && r.lateness_seconds !== undefined) {
      add('late', 'Late', formatSeconds(r.lateness_seconds), 'Start minus the scheduled time');
    }
  }
  const c = attempt.cost;
  if (c && c.cost > 0) {
    add(
      'cost',
      'Cost',
      `${c.cost.toFixed(4)}${currency ? ` ${currency}` : ''}`,
      'At the prices of costs.yaml'
    );
  }
  return out;
}
