/**
 * Cron and naming helpers of the scheduling form: presets, the pipeline-name rule,
 * next times in the schedule's timezone, the timezone list. Pure functions (unit-tested).
 */

/** Pipeline names the server accepts (workspace/jobs/spec/pipeline.py `_NAME`). */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

export const DEFAULT_CRON = '0 6 * * *';

export const CRON_PRESETS: { label: string; cron: string }[] = [
  { label: 'Hourly', cron: '0 * * * *' },
  { label: 'Daily 06:00', cron: '0 6 * * *' },
  { label: 'Weekdays 06:00', cron: '0 6 * * 1-5' },
  { label: 'Weekly Monday', cron: '0 6 * * 1' }
];

/** The message shown (and the request not sent) when the cron field is empty. */
export const EMPTY_CRON_MESSAGE = 'Enter a cron expression, e.g. 0 6 * * * (every day at 06:00).';

/** What is wrong with a pipeline name, or null when the server accepts it. */
export function nameError(name: string): string | null {
  if (name === '') {
    return 'A pipeline needs a name.';
  }
  if (!NAME_PATTERN.test(name)) {
    return 'Use lowercase letters, digits and _, starting with a letter (e.g. sales_report).';
  }
  return null;
}

/** The preset whose cron is `cron` (surrounding spaces ignored), if any. */
export function activePreset(cron: string): { label: string; cron: string } | undefined {
  return CRON_PRESETS.find(p => p.cron === cron.trim());
}

/** The values the request sends: a trimmed cron (null when empty), a timezone (UTC when empty). */
export function cronRequest(
  cron: string,
  timezone: string
): { cron: string | null; timezone: string } {
  return { cron: cron.trim() || null, timezone: timezone.trim() || 'UTC' };
}

/** "Mon, Mar 3, 2025, 06:00 AM CET": a next time in the schedule's timezone. */
export function formatIn(iso: string, timeZone: string): string {
  const d = new Date(iso);
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZone,
      timeZoneName: 'short'
    }).format(d);
  } catch {
    return d.toLocaleString();
  }
}

let timezoneList: string[] | null = null;

/** The IANA timezones the browser knows, UTC first when it is missing. */
export function timezones(): string[] {
  if (timezoneList === null) {
    try {
      timezoneList = (Intl as any).supportedValuesOf('timeZone') as string[];
    } catch {
      timezoneList = [];
    }
    if (!timezoneList.includes('UTC')) {
      timezoneList = ['UTC', ...timezoneList];
    }
  }
  return timezoneList;
}
