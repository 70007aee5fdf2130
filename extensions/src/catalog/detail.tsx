/**
 * The table detail widget (main area): header, schema, preview, profile,
 * snapshots and pipelines of one table.
 */
import * as React from 'react';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import {
  ReactWidget,
  copyIcon,
  refreshIcon
} from '@jupyterlab/ui-components';

import {
  APIError,
  IColumnProfile,
  IPreviewResponse,
  ISnapshot,
  ITableDetail,
  ITableProfile,
  IWriter,
  catalog,
  isAbortError
} from '../api';
import { EmptyState, ErrorState, Spinner } from '../common/components';
import {
  formatBytes,
  formatCount,
  formatNumber,
  formatRelative,
  formatTime,
  formatTimeLong,
  formatValue,
  isNumericType
} from '../common/format';
import { tableIcon } from '../common/icons';
import { ClassificationBadge, LayerChip, PiiBadge } from './badges';

/** Rows per preview page. */
export const PREVIEW_PAGE = 50;

/** What the detail can ask of the application. */
export interface IDetailActions {
  insertSql(name: string): Promise<void>;
  insertIbis(name: string): Promise<void>;
  copyName(name: string): void;
  /** Open the runs of a pipeline; null when the runs panel is not installed. */
  openPipeline: ((pipeline: string) => void) | null;
  /** The detail was loaded (e.g. to cache its snippets). */
  loaded(detail: ITableDetail): void;
  /** Close this detail. */
  close(): void;
}

/**
 * The content of a table's main-area widget. Showing it again refreshes
 * it, so a dropped table is noticed.
 */
export class TableDetailWidget extends ReactWidget {
  constructor(readonly tableName: string, private _actions: IDetailActions) {
    super();
    this.addClass('aw-TableDetailWidget');
  }

  get refreshRequested(): ISignal<this, void> {
    return this._refreshRequested;
  }

  refresh(): void {
    this._refreshRequested.emit();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._shownOnce) {
      this.refresh();
    }
    this._shownOnce = true;
  }

  protected render(): JSX.Element {
    return (
      <TableDetail widget={this} name={this.tableName} actions={this._actions} />
    );
  }

  private _shownOnce = false;
  private _refreshRequested = new Signal<this, void>(this);
}

type TabId = 'schema' | 'preview' | 'profile' | 'snapshots' | 'pipelines';

function isGone(error: unknown): boolean {
  return (
    error instanceof APIError &&
    (error.status === 404 || /no longer exists/i.test(error.message))
  );
}

function TableDetail(props: {
  widget: TableDetailWidget;
  name: string;
  actions: IDetailActions;
}): JSX.Element {
  const { widget, name, actions } = props;
  const [refreshKey, setRefreshKey] = React.useState(0);
  const [detail, setDetail] = React.useState<ITableDetail | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [loading, setLoading] = React.useState(true);
  const [tab, setTab] = React.useState<TabId>('schema');
  const [visited, setVisited] = React.useState<Set<TabId>>(new Set(['schema']));
  const [at, setAt] = React.useState<number | null>(null);

  React.useEffect(() => {
    const bump = () => setRefreshKey(k => k + 1);
    widget.refreshRequested.connect(bump);
    return () => {
      widget.refreshRequested.disconnect(bump);
    };
  }, [widget]);

  React.useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    catalog
      .table(name, at, { signal: controller.signal })
      .then(d => {
        setDetail(d);
        setError(null);
        setLoading(false);
        actions.loaded(d);
      })
      .catch(err => {
        if (isAbortError(err)) {
          return;
        }
        setError(err);
        setLoading(false);
      });
    return () => controller.abort();
  }, [name, at, refreshKey]);

  const select = (id: TabId) => {
    setTab(id);
    setVisited(prev => (prev.has(id) ? prev : new Set(prev).add(id)));
  };

  const viewSnapshot = (id: number | null) => {
    setAt(id);
    if (id !== null) {
      select('preview');
    }
  };

  const gone = isGone(error);
  const loaded = !!detail && !loading && !error;
  const rootProps = {
    className: 'aw-TableDetail',
    'data-testid': 'table-detail',
    'data-name': name,
    'data-loaded': loaded ? 'true' : 'false'
  };

  if (gone) {
    return (
      <div {...rootProps} data-gone="true">
        <div className="aw-TableDetail-gone" data-testid="table-gone">
          <tableIcon.react tag="span" className="aw-TableDetail-goneIcon" />
          <div className="aw-EmptyState-title">This table no longer exists</div>
          <p className="aw-TableDetail-goneText">
            {(error as APIError).message || (
              <>
                <code>{name}</code> was dropped or renamed.
              </>
            )}
          </p>
          <div className="aw-TableDetail-goneActions">
            <button
              className="jp-Button jp-mod-styled jp-mod-accept aw-Button"
              data-testid="table-gone-close"
              onClick={() => actions.close()}
            >
              Close
            </button>
            <button
              className="jp-Button jp-mod-styled jp-mod-reject aw-Button"
              onClick={() => setRefreshKey(k => k + 1)}
            >
              Check again
            </button>
          </div>
        </div>
      </div>
    );
  }

  if (!detail) {
    return (
      <div {...rootProps}>
        {error ? (
          <ErrorState error={error} onRetry={() => setRefreshKey(k => k + 1)} />
        ) : (
          <Spinner label={`Loading ${name}…`} />
        )}
      </div>
    );
  }

  const snapshot =
    at !== null ? detail.snapshots.find(s => s.snapshot_id === at) : undefined;
  const piiColumns = detail.columns.filter(c => c.pii).map(c => c.name);

  return (
    <div {...rootProps}>
      <Header
        detail={detail}
        actions={actions}
        loading={loading}
        piiColumns={piiColumns}
        onRefresh={() => setRefreshKey(k => k + 1)}
      />
      {error ? (
        <div className="aw-InlineError" data-testid="catalog-error" role="alert">
          <span>Refresh failed: {(error as Error).message}</span>
          <button className="aw-LinkButton" onClick={() => setRefreshKey(k => k + 1)}>
            Retry
          </button>
        </div>
      ) : null}
      {at !== null ? (
        <div className="aw-SnapshotBanner" data-testid="snapshot-banner" role="status">
          <span>
            Viewing snapshot <strong>{at}</strong>
            {snapshot ? ` (${formatTime(snapshot.time)})` : ''} —{' '}
          </span>
          <button
            className="aw-LinkButton"
            data-testid="snapshot-latest"
            onClick={() => viewSnapshot(null)}
          >
            back to latest
          </button>
        </div>
      ) : null}
      <Tabs
        active={tab}
        onSelect={select}
        counts={{
          schema: detail.columns.length,
          snapshots: detail.snapshots.length,
          pipelines: detail.writers.length
        }}
      />
      <div className="aw-TableDetail-body">
        <TabPanel id="schema" active={tab}>
          <SchemaTab detail={detail} />
        </TabPanel>
        {visited.has('preview') ? (
          <TabPanel id="preview" active={tab}>
            <PreviewTab name={name} at={at} refreshKey={refreshKey} />
          </TabPanel>
        ) : null}
        {visited.has('profile') ? (
          <TabPanel id="profile" active={tab}>
            <ProfileTab name={name} refreshKey={refreshKey} />
          </TabPanel>
        ) : null}
        <TabPanel id="snapshots" active={tab}>
          <SnapshotsTab
            snapshots={detail.snapshots}
            at={at}
            onView={viewSnapshot}
          />
        </TabPanel>
        <TabPanel id="pipelines" active={tab}>
          <PipelinesTab
            writers={detail.writers}
            error={detail.lineage_error ?? null}
            actions={actions}
          />
        </TabPanel>
      </div>
    </div>
  );
}

/* ----------------------------------------------------------------------- */
/* Header                                                                    */
/* ----------------------------------------------------------------------- */

function Header(props: {
  detail: ITableDetail;
  actions: IDetailActions;
  loading: boolean;
  piiColumns: string[];
  onRefresh: () => void;
}): JSX.Element {
  const { detail, actions } = props;
  const [copied, setCopied] = React.useState(false);
  const [busy, setBusy] = React.useState<string | null>(null);
  const timer = React.useRef<number | null>(null);
  React.useEffect(
    () => () => {
      if (timer.current !== null) {
        window.clearTimeout(timer.current);
      }
    },
    []
  );
  const copy = () => {
    actions.copyName(detail.name);
    setCopied(true);
    if (timer.current !== null) {
      window.clearTimeout(timer.current);
    }
    timer.current = window.setTimeout(() => setCopied(false), 1500);
  };
  const run = (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    fn().finally(() => setBusy(null));
  };
  const tagged = (detail.tags || []).some(t => t.toLowerCase() === 'pii');
  return (
    <div className="aw-TableDetail-header">
      <div className="aw-TableDetail-titleRow">
        <tableIcon.react tag="span" className="aw-TableDetail-icon" />
        <h1 className="aw-TableDetail-title" title={detail.name}>
          {detail.name}
        </h1>
        <LayerChip layer={detail.layer} />
        <ClassificationBadge value={detail.classification} />
        {tagged || props.piiColumns.length ? (
          <PiiBadge
            title={
              props.piiColumns.length
                ? `Personal data in: ${props.piiColumns.join(', ')}`
                : 'Tagged as containing personal data (PII)'
            }
          />
        ) : null}
        <span className="aw-Spacer" />
        <div className="aw-TableDetail-actions">
          <button
            className="aw-ActionButton aw-mod-primary"
            data-testid="insert-sql"
            disabled={busy !== null}
            title={`Insert a %%sql cell reading ${detail.name} into the current notebook`}
            onClick={() => run('sql', () => actions.insertSql(detail.name))}
          >
            {busy === 'sql' ? 'Inserting…' : 'Insert SQL cell'}
          </button>
          <button
            className="aw-ActionButton"
            data-testid="insert-ibis"
            disabled={busy !== null}
            title={`Insert Python (ibis) code reading ${detail.name} into the current notebook`}
            onClick={() => run('ibis', () => actions.insertIbis(detail.name))}
          >
            {busy === 'ibis' ? 'Inserting…' : 'Insert Ibis code'}
          </button>
          <button
            className={`aw-ActionButton${copied ? ' aw-mod-done' : ''}`}
            data-testid="copy-name"
            title={`Copy "${detail.name}" to the clipboard`}
            onClick={copy}
          >
            <copyIcon.react tag="span" className="aw-ActionButton-icon" />
            {copied ? 'Copied' : 'Copy name'}
          </button>
          <button
            className="aw-IconButton"
            data-testid="detail-refresh"
            title="Refresh"
            aria-label="Refresh"
            onClick={props.onRefresh}
          >
            {props.loading ? (
              <span className="aw-Spinner aw-Spinner-tiny" />
            ) : (
              <refreshIcon.react tag="span" />
            )}
          </button>
        </div>
      </div>
      <div className="aw-TableDetail-meta">
        <Meta label="Owner" value={detail.owner || '–'} />
        <Meta label="Rows" value={formatCount(detail.row_count)} />
        <Meta
          label="Size"
          value={formatBytes(detail.size_bytes)}
          title={
            detail.file_count !== undefined && detail.file_count !== null
              ? `${formatCount(detail.size_bytes)} bytes in ${formatCount(detail.file_count)} files`
              : undefined
          }
        />
        <Meta
          label="Modified"
          value={formatRelative(detail.last_modified)}
          title={formatTimeLong(detail.last_modified)}
        />
        {detail.created ? (
          <Meta
            label="Created"
            value={formatTime(detail.created)}
            title={formatTimeLong(detail.created)}
          />
        ) : null}
      </div>
      <p
        className={`aw-TableDetail-description${
          detail.description ? '' : ' aw-mod-missing'
        }`}
      >
        {detail.description || 'No description.'}
      </p>
      {detail.tags && detail.tags.length ? (
        <div className="aw-TableDetail-tags">
          {detail.tags.map(tag => (
            <span key={tag} className="aw-Tag">
              {tag}
            </span>
          ))}
        </div>
      ) : null}
    </div>
  );
}

function Meta(props: { label: string; value: string; title?: string }): JSX.Element {
  return (
    <span className="aw-Meta" title={props.title}>
      <span className="aw-Meta-label">{props.label}</span>
      <span className="aw-Meta-value">{props.value}</span>
    </span>
  );
}

/* ----------------------------------------------------------------------- */
/* Tabs                                                                      */
/* ----------------------------------------------------------------------- */

const TABS: { id: TabId; label: string }[] = [
  { id: 'schema', label: 'Schema' },
  { id: 'preview', label: 'Preview' },
  { id: 'profile', label: 'Profile' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'pipelines', label: 'Pipelines' }
];

function Tabs(props: {
  active: TabId;
  onSelect: (id: TabId) => void;
  counts: { [id: string]: number };
}): JSX.Element {
  return (
    <div className="aw-Tabs" role="tablist">
      {TABS.map(t => (
        <button
          key={t.id}
          role="tab"
          aria-selected={props.active === t.id}
          className={`aw-Tab${props.active === t.id ? ' aw-mod-active' : ''}`}
          data-testid={`tab-${t.id}`}
          onClick={() => props.onSelect(t.id)}
        >
          {t.label}
          {props.counts[t.id] !== undefined ? (
            <span className="aw-Tab-count">{props.counts[t.id]}</span>
          ) : null}
        </button>
      ))}
    </div>
  );
}

function TabPanel(props: {
  id: TabId;
  active: TabId;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div
      className="aw-TabPanel"
      role="tabpanel"
      data-tab={props.id}
      hidden={props.id !== props.active}
    >
      {props.children}
    </div>
  );
}

/* ----------------------------------------------------------------------- */
/* Schema                                                                    */
/* ----------------------------------------------------------------------- */

function SchemaTab(props: { detail: ITableDetail }): JSX.Element {
  const { columns } = props.detail;
  if (!columns.length) {
    return <EmptyState title="No columns" />;
  }
  return (
    <table className="aw-Grid aw-SchemaTable" data-testid="schema-table">
      <thead>
        <tr>
          <th className="aw-Grid-index">#</th>
          <th>Column</th>
          <th>Type</th>
          <th>Nullable</th>
          <th>Description</th>
        </tr>
      </thead>
      <tbody>
        {columns.map((c, i) => (
          <tr key={c.name} data-testid="schema-row" data-column={c.name}>
            <td className="aw-Grid-index">{i + 1}</td>
            <td className="aw-SchemaTable-name">
              <code>{c.name}</code>
              {c.pii ? <PiiBadge title={`${c.name} holds personal data`} /> : null}
            </td>
            <td>
              <code className="aw-Type">{c.type}</code>
            </td>
            <td className="aw-SchemaTable-nullable">
              {c.nullable === false ? 'NOT NULL' : c.nullable ? 'yes' : '–'}
            </td>
            <td
              className={`aw-SchemaTable-description${
                c.description ? '' : ' aw-mod-missing'
              }`}
            >
              {c.description || '–'}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/* ----------------------------------------------------------------------- */
/* Preview                                                                   */
/* ----------------------------------------------------------------------- */

function PreviewTab(props: {
  name: string;
  at: number | null;
  refreshKey: number;
}): JSX.Element {
  const { name, at, refreshKey } = props;
  const [offset, setOffset] = React.useState(0);
  const [loaded, setLoaded] = React.useState<{
    page: IPreviewResponse;
    at: number | null;
  } | null>(null);
  const [error, setError] = React.useState<unknown>(null);
  const [loading, setLoading] = React.useState(true);
  const [retry, setRetry] = React.useState(0);
  const lastAt = React.useRef(at);
  // rows of another snapshot are not shown while this one loads
  const page = loaded && loaded.at === at ? loaded.page : null;

  // a new snapshot starts at the first page
  if (lastAt.current !== at) {
    lastAt.current = at;
    if (offset !== 0) {
      setOffset(0);
    }
  }

  React.useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    catalog
      .preview(name, { offset, limit: PREVIEW_PAGE, at }, { signal: controller.signal })
      .then(p => {
        setLoaded({ page: p, at });
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
  }, [name, at, offset, refreshKey, retry]);

  if (error) {
    return <ErrorState error={error} onRetry={() => setRetry(r => r + 1)} />;
  }
  if (!page) {
    return (
      <Spinner
        label={at === null ? 'Loading rows…' : `Loading rows at snapshot ${at}…`}
      />
    );
  }
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.rows.length;
  const numeric = page.columns.map(c => isNumericType(c.type));
  return (
    <div className={`aw-Preview${loading ? ' aw-mod-stale' : ''}`}>
      <div className="aw-Pager">
        <span className="aw-Pager-range" data-testid="preview-range">
          {page.total === 0
            ? 'No rows'
            : `Rows ${formatCount(first)}–${formatCount(last)} of ${formatCount(page.total)}`}
          {page.snapshot_id !== null && page.snapshot_id !== undefined ? (
            <span className="aw-Pager-snapshot"> · snapshot {page.snapshot_id}</span>
          ) : null}
        </span>
        {loading ? <span className="aw-Spinner aw-Spinner-tiny" /> : null}
        <span className="aw-Spacer" />
        <button
          className="aw-ActionButton"
          data-testid="preview-prev"
          disabled={loading || page.offset <= 0}
          onClick={() => setOffset(Math.max(0, page.offset - PREVIEW_PAGE))}
        >
          ‹ Prev
        </button>
        <button
          className="aw-ActionButton"
          data-testid="preview-next"
          disabled={loading || last >= page.total}
          onClick={() => setOffset(page.offset + PREVIEW_PAGE)}
        >
          Next ›
        </button>
      </div>
      <div className="aw-Preview-scroll">
        <table className="aw-Grid aw-PreviewTable" data-testid="preview-table">
          <thead>
            <tr>
              <th className="aw-Grid-index" />
              {page.columns.map((c, i) => (
                <th key={c.name} className={numeric[i] ? 'aw-mod-numeric' : ''} title={`${c.name}: ${c.type}`}>
                  <div className="aw-PreviewTable-colName">{c.name}</div>
                  <div className="aw-PreviewTable-colType">{c.type}</div>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {page.rows.map((row, r) => (
              <tr key={page.offset + r}>
                <td className="aw-Grid-index">{formatCount(page.offset + r + 1)}</td>
                {row.map((v, i) => {
                  const text = formatValue(v);
                  return (
                    <td
                      key={i}
                      className={`${numeric[i] ? 'aw-mod-numeric' : ''}${
                        v === null ? ' aw-mod-null' : ''
                      }`}
                      title={text.length > 40 ? text : undefined}
                    >
                      {text}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
        {page.rows.length === 0 ? (
          <EmptyState title="No rows" compact>
            <p>This table is empty{page.snapshot_id !== null ? ' at this snapshot' : ''}.</p>
          </EmptyState>
        ) : null}
      </div>
    </div>
  );
}

/* ----------------------------------------------------------------------- */
/* Profile                                                                   */
/* ----------------------------------------------------------------------- */

function ProfileTab(props: { name: string; refreshKey: number }): JSX.Element {
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

  if (error && !profile) {
    return <ErrorState error={error} onRetry={() => setRecompute(r => r + 1)} />;
  }
  if (!profile) {
    return <Spinner label="Profiling columns… (the first profile of a big table takes a few seconds)" />;
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

function ProfileColumn(props: {
  column: IColumnProfile;
  rows: number | null;
}): JSX.Element {
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
            <rect
              className="aw-Chart-bar"
              x={labelW}
              y={3}
              width={w}
              height={rowH - 6}
              rx={1}
            />
            <text className="aw-TopValues-count" x={width} y={rowH - 4} textAnchor="end">
              {formatNumber(count, true)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/* ----------------------------------------------------------------------- */
/* Snapshots                                                                 */
/* ----------------------------------------------------------------------- */

function SnapshotsTab(props: {
  snapshots: ISnapshot[];
  at: number | null;
  onView: (id: number | null) => void;
}): JSX.Element {
  const snapshots = [...props.snapshots].sort((a, b) => b.snapshot_id - a.snapshot_id);
  if (!snapshots.length) {
    return <EmptyState title="No snapshots" />;
  }
  const latest = snapshots[0].snapshot_id;
  return (
    <table className="aw-Grid aw-SnapshotsTable" data-testid="snapshots-table">
      <thead>
        <tr>
          <th>Snapshot</th>
          <th>Time</th>
          <th>Operations</th>
          <th>Author</th>
          <th>Message</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {snapshots.map(s => {
          const current = props.at === null ? s.snapshot_id === latest : s.snapshot_id === props.at;
          return (
            <tr
              key={s.snapshot_id}
              data-testid="snapshot-row"
              data-snapshot={s.snapshot_id}
              className={current ? 'aw-mod-current' : ''}
            >
              <td>
                <code>{s.snapshot_id}</code>
                {s.snapshot_id === latest ? <span className="aw-Tag aw-Tag-latest">latest</span> : null}
              </td>
              <td title={formatTimeLong(s.time)}>{formatTime(s.time)}</td>
              <td>
                {(s.operations || []).map((op, i) => (
                  <span key={i} className="aw-Tag">
                    {op}
                  </span>
                ))}
              </td>
              <td>{s.author || '–'}</td>
              <td className={s.message ? '' : 'aw-mod-missing'}>{s.message || '–'}</td>
              <td className="aw-SnapshotsTable-action">
                {current ? (
                  <span className="aw-SnapshotsTable-viewing">
                    {props.at === null ? 'Current' : 'Viewing'}
                  </span>
                ) : (
                  <button
                    className="aw-LinkButton"
                    data-testid="snapshot-view"
                    onClick={() => props.onView(s.snapshot_id === latest ? null : s.snapshot_id)}
                  >
                    {s.snapshot_id === latest ? 'Back to latest' : 'View at this snapshot'}
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/* ----------------------------------------------------------------------- */
/* Pipelines                                                                 */
/* ----------------------------------------------------------------------- */

function PipelinesTab(props: {
  writers: IWriter[];
  error: string | null;
  actions: IDetailActions;
}): JSX.Element {
  const open = props.actions.openPipeline;
  if (!props.writers.length && props.error) {
    return (
      <EmptyState title="Pipeline lineage unavailable">
        <p data-testid="lineage-error">{props.error}</p>
      </EmptyState>
    );
  }
  if (!props.writers.length) {
    return (
      <EmptyState title="No pipeline writes this table">
        <p>
          Tables written by scheduled pipelines list the pipeline and task here.
          This one was written from a notebook or by the demo.
        </p>
      </EmptyState>
    );
  }
  return (
    <table className="aw-Grid aw-PipelinesTable" data-testid="pipelines-table">
      <thead>
        <tr>
          <th>Pipeline</th>
          <th>Task</th>
          <th>Last run</th>
          <th>Last written</th>
          <th>Runs</th>
        </tr>
      </thead>
      <tbody>
        {props.writers.map((w, i) => (
          <tr key={`${w.pipeline}/${w.task}/${i}`} data-testid="pipeline-row" data-pipeline={w.pipeline}>
            <td>
              {open ? (
                <button
                  className="aw-LinkButton"
                  data-testid="open-pipeline"
                  title={`Show the runs of ${w.pipeline}`}
                  onClick={() => open(w.pipeline)}
                >
                  {w.pipeline}
                </button>
              ) : (
                <span>{w.pipeline}</span>
              )}
            </td>
            <td>
              <code>{w.task || '–'}</code>
            </td>
            <td>
              <code className="aw-RunId">{w.last_run_id || '–'}</code>
            </td>
            <td title={formatTimeLong(w.last_written)}>
              {formatTime(w.last_written)}
              {w.last_written ? (
                <span className="aw-Muted"> · {formatRelative(w.last_written)}</span>
              ) : null}
            </td>
            <td>{w.runs !== undefined ? formatCount(w.runs) : '–'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
