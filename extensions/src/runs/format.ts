/**
 * Time formatting in the browser's timezone.
 */

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
export function relativeTime(
  iso: string | null | undefined,
  now: number = Date.now()
): string {
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
