/**
 * The Profile tab: per column nulls, distinct values, min, max, mean, and a
 * histogram or the most frequent values.
 */
import * as React from 'react';

import { IColumnProfile, ITableProfile, catalog, isAbortError } from '../../api';
import { LoadingOrError } from '../../common/components';
import {
  formatCount,
  formatNumber,
  formatRelative,
  formatTimeLong,
  formatValue
} from '../../common/format';

export function ProfileTab(props: { name: string; refreshKey: number }): JSX.Element {
  const { name, refreshKey } = props;
  const [profile, setProfile] = React.useState<ITableProfile | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [loading, setLoading] = React.useState(true);
  const [recompute, setRecompute] = React.useState(0);
  const forced = React.useRef(false);

  React.useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    const refresh = forced.current;
    forced.current = false;
    catalog
      .profile(name, refresh, { signal: controller.signal })
      .then(p => {
        setProfile(p);
        setError(null);
        setLoading(false);
      })
      .catch(err => {
        if (!isAbortError(err)) {
          setError(err);
          setLoading(false);
        }
      });
    return () => controller.abort();
  }, [name, refreshKey, recompute]);

  if (!profile) {
    return (
      <LoadingOrError
        data={profile}
        error={error}
        label="Profiling columns… (the first profile of a big table takes a few seconds)"
        onRetry={() => setRecompute(r => r + 1)}
      />
    );
  }
  return (
    <div className={`aw-Profile${loading ? ' aw-mod-stale' : ''}`}>
      <div className="aw-Pager">
        <span>
          {formatCount(profile.row_count)} rows
          {profile.snapshot_id !== null ? ` · snapshot ${profile.snapshot_id}` : ''}
          {profile.computed_at ? (
            <span title={formatTimeLong(profile.computed_at)}>
              {' '}
              · computed {formatRelative(profile.computed_at)}
              {profile.cached ? ' (cached)' : ''}
            </span>
          ) : null}
        </span>
        {loading ? <span className="aw-Spinner aw-Spinner-tiny" /> : null}
        <span className="aw-Spacer" />
        <button
          className="aw-ActionButton"
          data-testid="profile-recompute"
          disabled={loading}
          onClick={() => {
            forced.current = true;
            setRecompute(r => r + 1);
          }}
        >
          Recompute
        </button>
      </div>
      {error ? (
        <div className="aw-InlineError" data-testid="catalog-error" role="alert">
          {(error as Error).message}
        </div>
      ) : null}
      <div className="aw-ProfileGrid">
        {profile.columns.map(c => (
          <ProfileColumn key={c.name} column={c} rows={profile.row_count} />
        ))}
      </div>
    </div>
  );
}

function Stat(props: {
  label: string;
  value: string;
  title?: string;
  warn?: boolean;
}): JSX.Element {
  return (
    <div
      className={`aw-Stat${props.warn ? ' aw-mod-warn' : ''}`}
      title={props.title ?? props.value}
    >
      <span className="aw-Stat-label">{props.label}</span>
      <span className="aw-Stat-value">{props.value}</span>
    </div>
  );
}

function ProfileColumn(props: { column: IColumnProfile; rows: number | null }): JSX.Element {
  const c = props.column;
  const nullPct = c.null_pct ?? 0;
  return (
    <div className="aw-ProfileColumn" data-testid="profile-column" data-column={c.name}>
      <div className="aw-ProfileColumn-head">
        <code className="aw-ProfileColumn-name" title={c.name}>
          {c.name}
        </code>
        <code className="aw-Type">{c.type}</code>
      </div>
      <div className="aw-ProfileColumn-stats">
        <Stat
          label="null"
          value={c.null_pct === null ? '–' : `${formatNumber(c.null_pct)}%`}
          warn={nullPct > 0}
        />
        <Stat
          label="distinct"
          value={c.approx_distinct === null ? '–' : `≈${formatCount(c.approx_distinct)}`}
        />
        {c.mean !== null && c.mean !== undefined ? (
          <Stat label="mean" value={formatNumber(c.mean)} title={formatValue(c.mean)} />
        ) : null}
        <Stat label="min" value={formatNumber(c.min)} title={formatValue(c.min)} />
        <Stat label="max" value={formatNumber(c.max)} title={formatValue(c.max)} />
      </div>
      {c.histogram && c.histogram.length ? (
        <Histogram bins={c.histogram} />
      ) : c.top_values && c.top_values.length ? (
        <TopValues values={c.top_values} rows={props.rows} />
      ) : (
        <div className="aw-ProfileColumn-nochart">
          {c.approx_distinct && props.rows && c.approx_distinct > props.rows / 2
            ? 'Nearly every value is distinct'
            : 'No distribution'}
        </div>
      )}
    </div>
  );
}

function Histogram(props: { bins: { low: any; high: any; count: number }[] }): JSX.Element {
  const { bins } = props;
  const width = 220;
  const height = 44;
  const gap = 2;
  const max = Math.max(1, ...bins.map(b => b.count));
  const barWidth = (width - gap * (bins.length - 1)) / bins.length;
  return (
    <div className="aw-Chart">
      <svg
        className="aw-Histogram"
        width="100%"
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label="Histogram"
        data-testid="profile-histogram"
      >
        {bins.map((b, i) => {
          const h = b.count === 0 ? 0 : Math.max(1.5, (b.count / max) * (height - 2));
          return (
            <g key={i}>
              <rect
                className="aw-Chart-hit"
                x={i * (barWidth + gap)}
                y={0}
                width={barWidth}
                height={height}
              >
                <title>{`${formatValue(b.low)} – ${formatValue(b.high)}: ${formatCount(b.count)}`}</title>
              </rect>
              <rect
                className="aw-Chart-bar"
                x={i * (barWidth + gap)}
                y={height - h}
                width={barWidth}
                height={h}
                rx={1}
              >
                <title>{`${formatValue(b.low)} – ${formatValue(b.high)}: ${formatCount(b.count)}`}</title>
              </rect>
            </g>
          );
        })}
      </svg>
      <div className="aw-Chart-axis">
        <span>{formatNumber(bins[0].low, true)}</span>
        <span>{formatNumber(bins[bins.length - 1].high, true)}</span>
      </div>
    </div>
  );
}

function TopValues(props: { values: [any, number][]; rows: number | null }): JSX.Element {
  const values = props.values.slice(0, 5);
  const rowH = 16;
  const width = 220;
  const labelW = 88;
  const countW = 40;
  const barMax = width - labelW - countW - 8;
  const max = Math.max(1, ...values.map(v => v[1]));
  const height = values.length * rowH;
  return (
    <svg
      className="aw-TopValues"
      width="100%"
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="Most frequent values"
      data-testid="profile-top-values"
    >
      {values.map(([value, count], i) => {
        const label = formatValue(value);
        const short = label.length > 13 ? label.slice(0, 12) + '…' : label;
        const w = Math.max(1.5, (count / max) * barMax);
        const pct = props.rows ? ` (${((count / props.rows) * 100).toFixed(1)}%)` : '';
        return (
          <g key={i} transform={`translate(0, ${i * rowH})`}>
            <title>{`${label}: ${formatCount(count)}${pct}`}</title>
            <text className="aw-TopValues-label" x={0} y={rowH - 4}>
              {short}
            </text>
            <rect className="aw-Chart-bar" x={labelW} y={3} width={w} height={rowH - 6} rx={1} />
            <text className="aw-TopValues-count" x={width} y={rowH - 4} textAnchor="end">
              {formatNumber(count, true)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
