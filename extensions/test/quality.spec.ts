import {
  IHealthRow,
  IQualityChart,
  ITableQuality,
  VEGALITE_MIME,
  anomalyCount,
  applyReview,
  chartCaption,
  chartsToRender,
  checkSummary,
  detectorLabel,
  freshnessLine,
  healthBadge,
  healthIndex,
  piiActions,
  piiLabel,
  sortChecks,
  sortFindings,
  sparklinePoints
} from '../src/catalog/qualitymodel';

const row = (over: Partial<IHealthRow> = {}): IHealthRow => ({
  table: 'silver.people',
  health: 'warning',
  level: 'warn',
  message: 'possible PII in email',
  commits: 2,
  findings: 1,
  ...over
});

test('healthBadge gives the level and the reason as the tooltip', () => {
  expect(healthBadge(row())).toEqual({
    level: 'warn',
    tooltip: 'Quality: Warning\npossible PII in email\n1 finding'
  });
  expect(
    healthBadge(row({ health: 'no_history', level: 'unknown', findings: 0, message: '' }))
  ).toEqual({ level: 'unknown', tooltip: 'Quality: No history yet' });
  expect(healthBadge(undefined).level).toBe('unknown');
});

test('healthIndex keys rows by table', () => {
  const index = healthIndex([row(), row({ table: 'gold.x', level: 'fail' })]);
  expect(index.get('gold.x')?.level).toBe('fail');
  expect(index.size).toBe(2);
  expect(healthIndex(undefined).size).toBe(0);
});

test('sparklinePoints spans the box, highest value on top', () => {
  expect(sparklinePoints([0, 50, 100], 104, 24)).toBe('2,22 52,12 102,2');
  expect(sparklinePoints([7, 7], 10, 20)).toBe('2,10 8,10');
  expect(sparklinePoints([5], 10, 20)).toBe('5,10');
  expect(sparklinePoints([], 10, 20)).toBe('');
});

test('checks: failures first, summarized by status', () => {
  const checks = [
    { name: 'unique(id)', status: 'pass' },
    { name: 'not_null(b)', status: 'fail' },
    { name: 'not_null(a)', status: 'pass' }
  ];
  expect(sortChecks(checks).map(c => c.name)).toEqual(['not_null(b)', 'not_null(a)', 'unique(id)']);
  expect(checkSummary(checks)).toBe('1 fail · 2 pass');
  expect(checkSummary([])).toBe('No checks have run');
});

test('findings: errors first, labelled by detector', () => {
  const f = (severity: string, kind: string) => ({ table: 't', kind, severity, message: '' });
  expect(
    sortFindings([f('info', 'volume'), f('error', 'check'), f('warn', 'pii')]).map(x => x.kind)
  ).toEqual(['check', 'pii', 'volume']);
  expect(detectorLabel('distribution')).toBe('Distribution drift');
  expect(detectorLabel('other')).toBe('other');
});

test('PII: only the owner reviews, only suggestions; a review updates the view', () => {
  const email = {
    column: 'email',
    kind: 'email',
    share: 0.95,
    sampled: 500,
    status: 'suggested' as const
  };
  expect(piiActions(email, true)).toEqual(['confirm', 'dismiss']);
  expect(piiActions(email, false)).toEqual([]);
  expect(piiActions({ ...email, status: 'confirmed' }, true)).toEqual([]);
  expect(piiLabel(email)).toBe('email, 95% of 500 sampled');
  const data: ITableQuality = {
    table: 'silver.people',
    health: row(),
    checks: [],
    findings: [
      { table: 'silver.people', kind: 'pii', column: 'email', severity: 'warn', message: '' }
    ],
    history: [],
    pii: [email],
    can_review: true
  };
  const after = applyReview(data, 'email', 'dismiss');
  expect(after.pii[0].status).toBe('dismissed');
  expect(after.findings).toEqual([]);
  expect(data.pii[0].status).toBe('suggested');
});

test('freshnessLine says when the table changed and when it is due', () => {
  const fmt = (iso: string) => iso.slice(0, 10);
  expect(
    freshnessLine(row({ last_commit: '2026-01-02T03:00:00Z', due_by: '2026-01-03T03:00:00Z' }), fmt)
  ).toBe('Last commit 2026-01-02 · next due by 2026-01-03');
  expect(freshnessLine(row(), fmt)).toBe('');
});

describe('quality charts', () => {
  const spec = (values: any[]) => ({
    datasets: { rows: values },
    layer: [{ data: { name: 'rows' }, mark: 'line' }]
  });
  const rows: IQualityChart = {
    id: 'rows',
    title: 'Rows per commit',
    spec: spec([
      { snapshot: 1, anomaly: false },
      { snapshot: 2, anomaly: true }
    ])
  };
  const fresh: IQualityChart = {
    id: 'freshness',
    title: 'Hours between updates',
    spec: { datasets: { gaps: [{ at: 's' }], now: [{ at: 't', overdue: true }] } }
  };
  const nulls: IQualityChart = { id: 'nulls', title: 'Null rate per column', spec: spec([]) };

  test('chartsToRender needs the Vega-Lite renderer and orders the charts', () => {
    expect(chartsToRender([nulls, rows], null)).toEqual([]);
    expect(chartsToRender([nulls, rows], ['text/plain'])).toEqual([]);
    expect(chartsToRender(undefined, [VEGALITE_MIME])).toEqual([]);
    expect(chartsToRender([nulls, fresh, rows], [VEGALITE_MIME]).map(c => c.id)).toEqual([
      'rows',
      'freshness',
      'nulls'
    ]);
  });

  test('the caption counts the marked commits of every dataset', () => {
    expect(anomalyCount(rows)).toBe(1);
    expect(chartCaption(rows)).toBe('Rows per commit (1 anomaly)');
    expect(chartCaption(fresh)).toBe('Hours between updates (overdue)');
    expect(chartCaption(nulls)).toBe('Null rate per column');
  });
});
