/**
 * The table detail widget (main area): the overview of one table and its tabs
 * (schema, preview, profile, snapshots, pipelines, quality), one file per tab.
 */
import * as React from 'react';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { ReactWidget } from '@jupyterlab/ui-components';

import { APIError, ITableDetail, catalog, isAbortError } from '../../api';
import { RequestAccessButton, refusedBy } from '../../access/button';
import { LoadingOrError } from '../../common/components';
import { formatTime } from '../../common/format';
import { tableIcon } from '../../common/icons';
import { HealthDot } from '../health';
import { quality } from '../qualityapi';
import { ITableQuality } from '../qualitymodel';
import { IDetailActions } from './actions';
import { Header } from './overview';
import { PipelinesTab } from './pipelines';
import { PreviewTab } from './preview';
import { ProfileTab } from './profile';
import { QualityTab } from './quality';
import { SchemaTab } from './schema';
import { SnapshotsTab } from './snapshots';

export { IDetailActions } from './actions';
export { PREVIEW_PAGE } from './preview';

/**
 * The content of a table's main-area widget. Showing it again refreshes
 * it, so a dropped table is noticed.
 */
export class TableDetailWidget extends ReactWidget {
  constructor(
    readonly tableName: string,
    private _actions: IDetailActions
  ) {
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
    return <TableDetail widget={this} name={this.tableName} actions={this._actions} />;
  }

  private _shownOnce = false;
  private _refreshRequested = new Signal<this, void>(this);
}

type TabId = 'schema' | 'preview' | 'profile' | 'snapshots' | 'pipelines' | 'quality';

function isGone(error: unknown): boolean {
  return (
    error instanceof APIError && (error.status === 404 || /no longer exists/i.test(error.message))
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
  const [health, setHealth] = React.useState<ITableQuality | null>(null);
  const [healthError, setHealthError] = React.useState<unknown>(null);
  const [qualityKey, setQualityKey] = React.useState(0);

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
        if (refusedBy(err)) {
          setDetail(null); // classified meanwhile: show the refusal and "Request access"
        }
        setError(err);
        setLoading(false);
      });
    return () => controller.abort();
  }, [name, at, refreshKey]);

  React.useEffect(() => {
    const controller = new AbortController();
    setHealthError(null);
    quality
      .table(name, { signal: controller.signal })
      .then(q => setHealth(q))
      .catch(err => {
        if (!isAbortError(err)) {
          setHealthError(err);
        }
      });
    return () => controller.abort();
  }, [name, refreshKey, qualityKey]);

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
        <LoadingOrError
          data={detail}
          error={error}
          label={`Loading ${name}…`}
          onRetry={() => setRefreshKey(k => k + 1)}
        />
        <RequestAccessButton table={name} error={error} />
      </div>
    );
  }

  const snapshot = at !== null ? detail.snapshots.find(s => s.snapshot_id === at) : undefined;
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
        badges={{ quality: health ? <HealthDot row={health.health} /> : null }}
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
          <SnapshotsTab snapshots={detail.snapshots} at={at} onView={viewSnapshot} />
        </TabPanel>
        <TabPanel id="pipelines" active={tab}>
          <PipelinesTab
            writers={detail.writers}
            error={detail.lineage_error ?? null}
            actions={actions}
          />
        </TabPanel>
        {visited.has('quality') ? (
          <TabPanel id="quality" active={tab}>
            <QualityTab
              name={name}
              data={health}
              error={healthError}
              onRetry={() => setRefreshKey(k => k + 1)}
              onChange={setHealth}
              onReviewed={() => setQualityKey(k => k + 1)}
              rendermime={actions.rendermime ?? null}
            />
          </TabPanel>
        ) : null}
      </div>
    </div>
  );
}

const TABS: { id: TabId; label: string }[] = [
  { id: 'schema', label: 'Schema' },
  { id: 'preview', label: 'Preview' },
  { id: 'profile', label: 'Profile' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'pipelines', label: 'Pipelines' },
  { id: 'quality', label: 'Quality' }
];

function Tabs(props: {
  active: TabId;
  onSelect: (id: TabId) => void;
  counts: { [id: string]: number };
  badges?: { [id: string]: React.ReactNode };
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
          {props.badges?.[t.id] ?? null}
          {t.label}
          {props.counts[t.id] !== undefined ? (
            <span className="aw-Tab-count">{props.counts[t.id]}</span>
          ) : null}
        </button>
      ))}
    </div>
  );
}

function TabPanel(props: { id: TabId; active: TabId; children: React.ReactNode }): JSX.Element {
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
