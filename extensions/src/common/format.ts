/**
 * Formatting shared by the panels: times in the browser's timezone, durations,
 * state labels, counts, sizes and cell values. Pure functions (unit-tested).
 */
import { Time } from '@jupyterlab/coreutils';

const absFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short'
});

const shortFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit'
});

export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) {
    return null;
  }
  const d = new Date(iso);
  return isNaN(d.getTime()) ? null : d;
}

/** "Mar 3, 2025, 06:00:00 CET" */
export function absoluteTime(iso: string | null | undefined): string {
  const d = parseTime(iso);
  return d ? absFormat.format(d) : '';
}

const clockFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit'
});

/** "Mar 3, 06:00:12" (event timelines) */
export function clockTime(iso: string | null | undefined): string {
  const d = parseTime(iso);
  return d ? clockFormat.format(d) : '';
}

/** "Mar 3, 06:00" */
export function shortTime(iso: string | null | undefined): string {
  const d = parseTime(iso);
  return d ? shortFormat.format(d) : '';
}

/** "in 3 h", "5 min ago", "just now". */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  const d = parseTime(iso);
  if (!d) {
    return '';
  }
  const diff = d.getTime() - now;
  const abs = Math.abs(diff);
  const future = diff > 0;
  const s = abs / 1000;
  let text: string;
  if (s < 45) {
    return future ? 'in a few s' : 'just now';
  } else if (s < 90 * 60) {
    text = `${Math.max(1, Math.round(s / 60))} min`;
  } else if (s < 36 * 3600) {
    text = `${Math.round(s / 3600)} h`;
  } else {
    text = `${Math.round(s / 86400)} d`;
  }
  return future ? `in ${text}` : `${text} ago`;
}

/** "1 h 2 min", "3 min 4 s", "12 s", "0.4 s" */
export function formatDuration(ms: number | null): string {
  if (ms === null || !isFinite(ms) || ms < 0) {
    return '';
  }
  const s = ms / 1000;
  if (s < 10) {
    return `${s.toFixed(1)} s`;
  }
  if (s < 60) {
    return `${Math.round(s)} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min ${Math.round(s - m * 60)} s`;
  }
  const h = Math.floor(m / 60);
  return `${h} h ${m - h * 60} min`;
}

/** Duration between two times; running items count up to now. */
export function durationBetween(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number = Date.now()
): string {
  const a = parseTime(start);
  if (!a) {
    return '';
  }
  const b = parseTime(end);
  return formatDuration((b ? b.getTime() : now) - a.getTime());
}

/** The browser's IANA timezone. */
export function browserTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** "queued" -> "Queued", "timed_out" -> "Timed out". */
export function stateLabel(state: string | null | undefined): string {
  if (!state) {
    return 'Never run';
  }
  const s = state.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/* -- catalog: counts, sizes, values ------------------------------------------------- */

const INT = new Intl.NumberFormat();

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) {
    return '–';
  }
  return INT.format(n);
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) {
    return '–';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** "2024-03-02 14:05" in local time, or '–'. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`
  );
}

/** The full local date and time, for tooltips. */
export function formatTimeLong(iso: string | null | undefined): string {
  if (!iso) {
    return '';
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : Time.format(d);
}

/** "3 hours ago", or '–'. */
export function formatRelative(iso: string | null | undefined): string {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  return Time.formatHuman(d);
}

const NUMERIC_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DECIMAL = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

/**
 * A compact number for chart labels and stats: 1,234, 12.5k, 3.4M, 0.253.
 * Numeric strings (the profile sends min/max/mean as text) are numbers too.
 */
export function formatNumber(value: any, compact = false): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'string' && NUMERIC_TEXT.test(value.trim())) {
    value = Number(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      return String(value);
    }
    const abs = Math.abs(value);
    if (compact || abs >= 1e7) {
      if (abs >= 1e9) {
        return `${(value / 1e9).toFixed(1)}B`;
      }
      if (abs >= 1e6) {
        return `${(value / 1e6).toFixed(1)}M`;
      }
      if (abs >= 1e4) {
        return `${(value / 1e3).toFixed(1)}k`;
      }
    }
    if (abs === 0 || abs >= 1) {
      return DECIMAL.format(value);
    }
    return String(Number(value.toPrecision(3)));
  }
  return formatValue(value);
}

/** Display text of a preview cell / profile value. */
export function formatValue(value: any): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** Heuristic: is this DuckDB type numeric (right-aligned in grids)? */
export function isNumericType(type: string): boolean {
  return /^(TINYINT|SMALLINT|INTEGER|INT|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL|NUMERIC)/i.test(
    type.trim()
  );
}
