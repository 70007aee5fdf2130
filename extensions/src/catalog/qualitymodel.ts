/**
 * The view model of table quality (pure functions, tested with jest): the
 * payloads of the server's `quality/...` routes
 * (workspace/server/quality_models.py), the health badge of a table, the
 * row-count sparkline, and the order and labels of checks, findings and PII
 * suggestions.
 */

/** Badge colour: green, amber, red or grey. */
export type HealthLevel = 'ok' | 'warn' | 'fail' | 'unknown';

/** A table's health (`GET quality/health`, one row per shared table). */
export interface IHealthRow {
  table: string;
  health: string;
  level: HealthLevel;
  message: string;
  commits: number;
  findings: number;
  last_commit?: string | null;
  due_by?: string | null;
}

export interface IHealthResponse {
  tables: IHealthRow[];
}

export interface ICheckResult {
  name: string;
  type?: string | null;
  column?: string | null;
  severity?: string | null;
  status: string;
  violations?: number | null;
  message?: string | null;
}

export interface IFinding {
  table: string;
  kind: string;
  column?: string | null;
  severity: string;
  message: string;
  check?: string | null;
  details?: { [key: string]: any };
}

export interface ICountPoint {
  snapshot_id: number;
  committed_at: string;
  rows_total: number;
}

export type PiiStatus = 'confirmed' | 'suggested' | 'dismissed';

export interface IPiiColumn {
  column: string;
  kind: string;
  share: number;
  example?: string | null;
  sampled: number;
  status: PiiStatus;
}

/** A chart of the Quality tab: a Vega-Lite v5 spec made by the server. */
export interface IQualityChart {
  id: 'rows' | 'freshness' | 'nulls';
  title: string;
  spec: { [key: string]: unknown };
}

/** `GET quality/tables/{name}`: what the Quality tab shows. */
export interface ITableQuality {
  table: string;
  health: IHealthRow;
  checks_at?: string | null;
  checks_trigger?: string | null;
  checks: ICheckResult[];
  findings: IFinding[];
  history: ICountPoint[];
  charts?: IQualityChart[];
  pii: IPiiColumn[];
  owner?: string | null;
  can_review: boolean;
  review_note?: string | null;
}

export type PiiAction = 'confirm' | 'dismiss';

const HEALTH_WORDS: { [key: string]: string } = {
  healthy: 'Healthy',
  warning: 'Warning',
  stale: 'Stale',
  failing: 'Failing',
  no_history: 'No history yet',
  unwatched: 'Not monitored'
};

/** The word shown for a health (`no_history` -> `No history yet`). */
export function healthWord(health: string): string {
  return HEALTH_WORDS[health] ?? health;
}

/** The health badge of a table: its level and a tooltip with the reason. */
export function healthBadge(row: IHealthRow | undefined): {
  level: HealthLevel;
  tooltip: string;
} {
  if (!row) {
    return { level: 'unknown', tooltip: 'Quality: not known yet' };
  }
  const lines = [`Quality: ${healthWord(row.health)}`];
  if (row.message) {
    lines.push(row.message);
  }
  if (row.findings > 0) {
    lines.push(`${row.findings} ${row.findings === 1 ? 'finding' : 'findings'}`);
  }
  return { level: row.level, tooltip: lines.join('\n') };
}

/**
 * When the table last changed and when its next commit is due (from the
 * freshness model), e.g. `Last commit 2026-01-02 03:04 · next due by …`.
 */
export function freshnessLine(row: IHealthRow, format: (iso: string) => string): string {
  const parts: string[] = [];
  if (row.last_commit) {
    parts.push(`Last commit ${format(row.last_commit)}`);
  }
  if (row.due_by) {
    parts.push(`next due by ${format(row.due_by)}`);
  }
  return parts.join(' · ');
}

/** The health rows by table name, for the tree's badges. */
export function healthIndex(rows: IHealthRow[] | undefined): Map<string, IHealthRow> {
  return new Map((rows ?? []).map(r => [r.table, r]));
}

/**
 * The polyline points of a sparkline of `values` in a `width` x `height` box
 * (y grows downwards; equal values draw a flat line in the middle).
 */
export function sparklinePoints(values: number[], width: number, height: number, pad = 2): string {
  if (values.length === 0) {
    return '';
  }
  const min = Math.min(...values);
  const max = Math.max(...values);
  const innerW = width - 2 * pad;
  const innerH = height - 2 * pad;
  const step = values.length > 1 ? innerW / (values.length - 1) : 0;
  const round = (v: number) => Math.round(v * 10) / 10;
  return values
    .map((v, i) => {
      const x = values.length > 1 ? pad + i * step : width / 2;
      const y = max === min ? height / 2 : pad + innerH - ((v - min) / (max - min)) * innerH;
      return `${round(x)},${round(y)}`;
    })
    .join(' ');
}

const CHECK_ORDER: { [status: string]: number } = { error: 0, fail: 1, warn: 2, pass: 3 };

/** Checks with failures first, then by name. */
export function sortChecks(checks: ICheckResult[]): ICheckResult[] {
  return [...checks].sort(
    (a, b) =>
      (CHECK_ORDER[a.status] ?? 1.5) - (CHECK_ORDER[b.status] ?? 1.5) ||
      a.name.localeCompare(b.name)
  );
}

/** Counts of the checks' statuses: `2 pass · 1 fail`. */
export function checkSummary(checks: ICheckResult[]): string {
  if (checks.length === 0) {
    return 'No checks have run';
  }
  const counts = new Map<string, number>();
  for (const c of sortChecks(checks)) {
    counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  }
  return [...counts].map(([s, n]) => `${n} ${s}`).join(' · ');
}

const SEVERITY_ORDER: { [severity: string]: number } = { error: 0, warn: 1, info: 2 };

const DETECTORS: { [kind: string]: string } = {
  volume: 'Volume',
  freshness: 'Freshness',
  schema: 'Schema change',
  nulls: 'Null rate',
  distribution: 'Distribution drift',
  check: 'Declared check',
  pii: 'Personal data'
};

/** The detector that made a finding, as shown. */
export function detectorLabel(kind: string): string {
  return DETECTORS[kind] ?? kind;
}

/** Findings, errors first. */
export function sortFindings(findings: IFinding[]): IFinding[] {
  return [...findings].sort(
    (a, b) => (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3)
  );
}

/** The actions offered on a PII suggestion: only the owner's, only while suggested. */
export function piiActions(column: IPiiColumn, canReview: boolean): PiiAction[] {
  if (!canReview) {
    return [];
  }
  if (column.status === 'suggested') {
    return ['confirm', 'dismiss'];
  }
  return [];
}

/** `email, 95% of 500 sampled`. */
export function piiLabel(column: IPiiColumn): string {
  return `${column.kind}, ${Math.round(column.share * 100)}% of ${column.sampled} sampled`;
}

/** The data after a review: the column's new status, the others unchanged. */
export function applyReview(data: ITableQuality, column: string, action: PiiAction): ITableQuality {
  const status: PiiStatus = action === 'confirm' ? 'confirmed' : 'dismissed';
  return {
    ...data,
    pii: data.pii.map(p => (p.column === column ? { ...p, status } : p)),
    findings: data.findings.filter(f => !(f.kind === 'pii' && f.column === column))
  };
}

/** The MIME type of Vega-Lite v5 (rendered by JupyterLab's vega5 extension). */
export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

/**
 * The charts to render: none without a Vega-Lite renderer (the tab keeps
 * its sparkline), else those with data, rows first.
 */
export function chartsToRender(
  charts: IQualityChart[] | undefined,
  mimeTypes: readonly string[] | null
): IQualityChart[] {
  if (!charts?.length || !mimeTypes?.includes(VEGALITE_MIME)) {
    return [];
  }
  const order = ['rows', 'freshness', 'nulls'];
  return charts
    .filter(c => c.spec && typeof c.spec === 'object')
    .sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
}

/** How many points a chart marks as anomalous (its caption), from its `datasets`. */
export function anomalyCount(chart: IQualityChart): number {
  const seen = new Set<string>();
  const datasets = (chart.spec.datasets ?? {}) as { [name: string]: any[] };
  for (const values of Object.values(datasets)) {
    for (const v of Array.isArray(values) ? values : []) {
      if (v && (v.anomaly === true || v.overdue === true)) {
        seen.add(`${v.snapshot ?? v.at}:${v.column ?? ''}`);
      }
    }
  }
  return seen.size;
}

/** The caption of a chart: its title and how many anomalies it marks. */
export function chartCaption(chart: IQualityChart): string {
  const n = anomalyCount(chart);
  if (n === 0) {
    return chart.title;
  }
  const what = chart.id === 'freshness' ? 'overdue' : n === 1 ? 'anomaly' : 'anomalies';
  return chart.id === 'freshness' ? `${chart.title} (${what})` : `${chart.title} (${n} ${what})`;
}
