/**
 * The Catalog sidebar panel: search box, layers tree, tables.
 */
import * as React from 'react';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import {
  ReactWidget,
  caretDownIcon,
  caretRightIcon,
  refreshIcon,
  searchIcon,
  closeIcon
} from '@jupyterlab/ui-components';

import { ILayer, ILayersResponse, ITableItem, catalog, isAbortError } from '../api';
import { EmptyState, ErrorState, Spinner } from '../common/components';
import { formatCount } from '../common/format';
import { catalogIcon, tableIcon } from '../common/icons';
import { ClassificationBadge, PiiBadge } from './badges';
import { HealthContext, TableHealthDot, useHealth } from './health';
import { hasPii, matchedLabels, splitTableName, tableTooltip } from './match';

/** Tables fetched per page in the tree and in search results. */
export const PAGE_SIZE = 200;
/** Wait this long after the last keystroke before searching. */
export const SEARCH_DEBOUNCE_MS = 150;

const LAYER_HELP: { [key: string]: string } = {
  bronze: 'Raw data as ingested',
  silver: 'Cleaned and conformed data',
  gold: 'Business-level aggregates, ready for reports',
  sandbox: 'Your own tables (ws.write)'
};

export interface ICatalogPanelOptions {
  /** Open the detail of a table in the main area. */
  openTable: (name: string) => void;
}

/**
 * The sidebar widget. `refresh()` (toolbar button, command, or showing the
 * panel again) reloads the layers, the open layers and the search.
 */
export class CatalogPanel extends ReactWidget {
  constructor(options: ICatalogPanelOptions) {
    super();
    this._openTable = options.openTable;
    this.addClass('aw-CatalogPanel');
  }

  /** Emitted when the panel should reload its content. */
  get refreshRequested(): ISignal<this, void> {
    return this._refreshRequested;
  }

  /** Name of the table whose detail is the current main-area widget. */
  get selected(): string | null {
    return this._selected;
  }
  set selected(name: string | null) {
    if (name !== this._selected) {
      this._selected = name;
      this.update();
    }
  }

  refresh(): void {
    this._refreshRequested.emit();
  }

  /** Focus the search box. */
  focusSearch(): void {
    const input = this.node.querySelector<HTMLInputElement>('[data-testid="catalog-search"]');
    input?.focus();
    input?.select();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._shownOnce) {
      this.refresh();
    }
    this._shownOnce = true;
  }

  protected render(): JSX.Element {
    return <CatalogBrowser panel={this} openTable={this._openTable} selected={this._selected} />;
  }

  private _openTable: (name: string) => void;
  private _selected: string | null = null;
  private _shownOnce = false;
  private _refreshRequested = new Signal<this, void>(this);
}

/** A counter that increases each time the panel asks for a refresh. */
function useRefreshKey(panel: CatalogPanel): number {
  const [key, setKey] = React.useState(0);
  React.useEffect(() => {
    const onRefresh = () => setKey(k => k + 1);
    panel.refreshRequested.connect(onRefresh);
    return () => {
      panel.refreshRequested.disconnect(onRefresh);
    };
  }, [panel]);
  return key;
}

type Loadable<T> =
  | { status: 'loading'; data?: T }
  | { status: 'ready'; data: T }
  | { status: 'error'; error: unknown; data?: T };

function CatalogBrowser(props: {
  panel: CatalogPanel;
  openTable: (name: string) => void;
  selected: string | null;
}): JSX.Element {
  const { panel, openTable, selected } = props;
  const refreshKey = useRefreshKey(panel);
  const [layers, setLayers] = React.useState<Loadable<ILayersResponse>>({
    status: 'loading'
  });
  const [expanded, setExpanded] = React.useState<Set<string>>(new Set());
  const [text, setText] = React.useState('');
  const [retryKey, setRetryKey] = React.useState(0);
  const health = useHealth(refreshKey);

  React.useEffect(() => {
    const controller = new AbortController();
    setLayers(prev => ({ status: 'loading', data: prev.data }));
    catalog
      .layers({ signal: controller.signal })
      .then(data => setLayers({ status: 'ready', data }))
      .catch(error => {
        if (!isAbortError(error)) {
          setLayers(prev => ({ status: 'error', error, data: prev.data }));
        }
      });
    return () => controller.abort();
  }, [refreshKey, retryKey]);

  const toggle = React.useCallback((name: string) => {
    setExpanded(prev => {
      const next = new Set(prev);
      if (next.has(name)) {
        next.delete(name);
      } else {
        next.add(name);
      }
      return next;
    });
  }, []);

  const q = text.trim();
  const loading = layers.status === 'loading';

  let body: JSX.Element;
  if (q) {
    body = (
      <SearchResults q={q} refreshKey={refreshKey} openTable={openTable} selected={selected} />
    );
  } else if (layers.status === 'error') {
    body = <ErrorState error={layers.error} onRetry={() => setRetryKey(k => k + 1)} />;
  } else if (!layers.data) {
    body = <Spinner label="Loading catalog…" />;
  } else if (!layers.data.exists) {
    body = (
      <EmptyState title="No lake yet">
        <p>
          {layers.data.message ??
            "Run 'workspace demo' or write a table with ws.write(df, 'my_table')."}
        </p>
      </EmptyState>
    );
  } else if (layers.data.layers.length === 0) {
    body = (
      <EmptyState title="No tables you can read">
        <p>The catalog has no layer visible to you.</p>
      </EmptyState>
    );
  } else {
    body = (
      <div className="aw-Tree" role="tree" aria-label="Catalog layers">
        {layers.data.layers.map(layer => (
          <LayerNode
            key={layer.name}
            layer={layer}
            expanded={expanded.has(layer.name)}
            onToggle={toggle}
            refreshKey={refreshKey}
            openTable={openTable}
            selected={selected}
          />
        ))}
      </div>
    );
  }

  return (
    <HealthContext.Provider value={health}>
      <div className="aw-Catalog">
        <div className="aw-Catalog-header">
          <catalogIcon.react tag="span" className="aw-Catalog-headerIcon" />
          <h2 className="aw-Catalog-title">Catalog</h2>
          {layers.data?.user ? (
            <span className="aw-Catalog-user" title="Tables are shown as this user can read them">
              {layers.data.user}
            </span>
          ) : null}
          <span className="aw-Catalog-headerSpacer" />
          {loading && layers.data ? <span className="aw-Spinner aw-Spinner-tiny" /> : null}
          <button
            className="aw-IconButton"
            title="Refresh the catalog"
            aria-label="Refresh the catalog"
            data-testid="catalog-refresh"
            onClick={() => panel.refresh()}
          >
            <refreshIcon.react tag="span" />
          </button>
        </div>
        <div className="aw-Catalog-search">
          <searchIcon.react tag="span" className="aw-Catalog-searchIcon" />
          <input
            type="search"
            className="aw-Catalog-searchInput"
            placeholder="Search tables, columns, tags…"
            aria-label="Search tables"
            spellCheck={false}
            data-testid="catalog-search"
            value={text}
            onChange={e => setText(e.target.value)}
            onKeyDown={e => {
              if (e.key === 'Escape') {
                setText('');
              }
            }}
          />
          {text ? (
            <button
              className="aw-IconButton aw-Catalog-searchClear"
              title="Clear search"
              aria-label="Clear search"
              onClick={() => setText('')}
            >
              <closeIcon.react tag="span" />
            </button>
          ) : null}
        </div>
        <div className="aw-Catalog-body">{body}</div>
      </div>
    </HealthContext.Provider>
  );
}

/* ----------------------------------------------------------------------- */
/* Paged table lists                                                         */
/* ----------------------------------------------------------------------- */

interface IPagedState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  items: ITableItem[];
  total: number;
  error?: unknown;
  /** Loading the next page (items are kept). */
  more: boolean;
  moreError?: unknown;
  query: string | null;
}

const EMPTY_PAGED: IPagedState = {
  status: 'idle',
  items: [],
  total: 0,
  more: false,
  query: null
};

/**
 * A paged list of `catalog/tables` for `params` (layer or q). Only the
 * latest request's answer is kept: changing the params aborts the previous
 * request. `enabled=false` keeps the list unloaded.
 */
function usePagedTables(
  params: { layer?: string; q?: string },
  enabled: boolean,
  refreshKey: number,
  debounceMs = 0
): [IPagedState, () => void, () => void] {
  const [state, setState] = React.useState<IPagedState>(EMPTY_PAGED);
  const [retryKey, setRetryKey] = React.useState(0);
  const stateRef = React.useRef(state);
  stateRef.current = state;
  const seq = React.useRef(0);
  const moreController = React.useRef<AbortController | null>(null);
  const key = `${params.layer ?? ''}\u0000${params.q ?? ''}`;

  React.useEffect(() => {
    if (!enabled) {
      return;
    }
    const id = ++seq.current;
    moreController.current?.abort();
    const controller = new AbortController();
    setState(prev => ({
      ...prev,
      status: 'loading',
      // keep what is shown (dimmed) while refreshing the same list or while
      // the search text changes; a new layer list starts empty
      items: prev.query === key || debounceMs > 0 ? prev.items : [],
      total: prev.query === key || debounceMs > 0 ? prev.total : 0,
      error: undefined,
      more: false,
      moreError: undefined
    }));
    const run = () => {
      catalog
        .tables(
          { layer: params.layer, q: params.q, offset: 0, limit: PAGE_SIZE },
          { signal: controller.signal }
        )
        .then(page => {
          if (id !== seq.current) {
            return;
          }
          setState({
            status: 'ready',
            items: page.tables,
            total: page.total,
            more: false,
            query: key
          });
        })
        .catch(error => {
          if (id !== seq.current || isAbortError(error)) {
            return;
          }
          setState({
            status: 'error',
            items: [],
            total: 0,
            error,
            more: false,
            query: key
          });
        });
    };
    let timer: number | null = null;
    if (debounceMs > 0) {
      timer = window.setTimeout(run, debounceMs);
    } else {
      run();
    }
    return () => {
      if (timer !== null) {
        window.clearTimeout(timer);
      }
      controller.abort();
    };
  }, [key, enabled, refreshKey, retryKey]);

  const loadMore = React.useCallback(() => {
    const id = seq.current;
    const controller = new AbortController();
    moreController.current?.abort();
    moreController.current = controller;
    const offset = stateRef.current.items.length;
    setState(prev => ({ ...prev, more: true, moreError: undefined }));
    catalog
      .tables(
        { layer: params.layer, q: params.q, offset, limit: PAGE_SIZE },
        { signal: controller.signal }
      )
      .then(page => {
        if (id !== seq.current) {
          return;
        }
        setState(prev => {
          const seen = new Set(prev.items.map(t => t.name));
          const added = page.tables.filter(t => !seen.has(t.name));
          return {
            ...prev,
            items: prev.items.concat(added),
            total: page.total,
            more: false
          };
        });
      })
      .catch(error => {
        if (id !== seq.current || isAbortError(error)) {
          return;
        }
        setState(prev => ({ ...prev, more: false, moreError: error }));
      });
  }, [key]);

  const retry = React.useCallback(() => setRetryKey(k => k + 1), []);
  return [state, loadMore, retry];
}

function LoadMore(props: { state: IPagedState; onLoadMore: () => void }): JSX.Element | null {
  const { state } = props;
  if (state.status !== 'ready' || state.items.length >= state.total) {
    return null;
  }
  return (
    <div className="aw-LoadMore">
      {state.moreError ? (
        <span className="aw-LoadMore-error" title={String((state.moreError as Error).message)}>
          {(state.moreError as Error).message}
        </span>
      ) : null}
      <button
        className="aw-LinkButton"
        data-testid="catalog-load-more"
        disabled={state.more}
        onClick={props.onLoadMore}
      >
        {state.more
          ? 'Loading…'
          : `Load more (${formatCount(state.items.length)} of ${formatCount(state.total)})`}
      </button>
    </div>
  );
}

function LayerNode(props: {
  layer: ILayer;
  expanded: boolean;
  onToggle: (name: string) => void;
  refreshKey: number;
  openTable: (name: string) => void;
  selected: string | null;
}): JSX.Element {
  const { layer, expanded } = props;
  const [state, loadMore, retry] = usePagedTables(
    { layer: layer.name },
    expanded,
    props.refreshKey
  );
  const Caret = expanded ? caretDownIcon : caretRightIcon;
  const description = layer.description || LAYER_HELP[layer.name] || '';
  return (
    <div
      className={`aw-LayerNode${expanded ? ' aw-mod-expanded' : ''}`}
      data-testid="catalog-layer"
      data-layer={layer.name}
      role="treeitem"
      aria-expanded={expanded}
    >
      <div
        className="aw-LayerNode-label"
        tabIndex={0}
        title={description}
        onClick={() => props.onToggle(layer.name)}
        onKeyDown={e => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            props.onToggle(layer.name);
          }
        }}
      >
        <Caret.react tag="span" className="aw-LayerNode-caret" />
        <span className={`aw-LayerDot aw-Layer-${layer.name}`} />
        <span className="aw-LayerNode-name">{layer.name}</span>
        {expanded && state.status === 'loading' && state.items.length ? (
          <span className="aw-Spinner aw-Spinner-tiny" />
        ) : null}
        <span className="aw-LayerNode-count" title={`${formatCount(layer.tables)} tables`}>
          {formatCount(layer.tables)}
        </span>
      </div>
      {expanded ? (
        <div className="aw-LayerNode-children" role="group">
          {state.status === 'error' ? (
            <ErrorState error={state.error} onRetry={retry} />
          ) : state.items.length === 0 && state.status !== 'ready' ? (
            <Spinner small label="Loading tables…" />
          ) : state.items.length === 0 ? (
            layer.name === 'sandbox' ? (
              <EmptyState title="Your sandbox is empty" compact>
                <p>
                  <code>ws.write(df, 'my_table')</code> creates a table here.
                </p>
              </EmptyState>
            ) : (
              <EmptyState title={`No tables in ${layer.name}`} compact />
            )
          ) : (
            <>
              {state.items.map(item => (
                <TableRow
                  key={item.name}
                  item={item}
                  showLayer={false}
                  onOpen={props.openTable}
                  selected={props.selected === item.name}
                />
              ))}
              <LoadMore state={state} onLoadMore={loadMore} />
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}

function SearchResults(props: {
  q: string;
  refreshKey: number;
  openTable: (name: string) => void;
  selected: string | null;
}): JSX.Element {
  const [state, loadMore, retry] = usePagedTables(
    { q: props.q },
    true,
    props.refreshKey,
    SEARCH_DEBOUNCE_MS
  );
  const stale = state.query !== `\u0000${props.q}`;
  let content: JSX.Element;
  if (state.status === 'error') {
    content = <ErrorState error={state.error} onRetry={retry} />;
  } else if (state.items.length === 0 && state.status !== 'ready') {
    content = <Spinner small label="Searching…" />;
  } else if (state.items.length === 0) {
    content = (
      <EmptyState title="No matching tables">
        <p>
          Nothing matches <strong>{props.q}</strong> in table names, descriptions, columns or tags.
        </p>
      </EmptyState>
    );
  } else {
    content = (
      <>
        {state.items.map(item => (
          <TableRow
            key={item.name}
            item={item}
            showLayer={true}
            onOpen={props.openTable}
            selected={props.selected === item.name}
          />
        ))}
        <LoadMore state={state} onLoadMore={loadMore} />
      </>
    );
  }
  return (
    <div
      className={`aw-SearchResults${stale || state.status === 'loading' ? ' aw-mod-stale' : ''}`}
      data-testid="catalog-search-results"
      data-state={stale || state.status === 'loading' ? 'loading' : state.status}
      aria-busy={state.status === 'loading'}
    >
      <div className="aw-SearchResults-summary">
        {state.status === 'ready' && !stale
          ? `${formatCount(state.total)} ${state.total === 1 ? 'table' : 'tables'}`
          : 'Searching…'}
      </div>
      <div role="tree" aria-label="Search results">
        {content}
      </div>
    </div>
  );
}

export function TableRow(props: {
  item: ITableItem;
  showLayer: boolean;
  onOpen: (name: string) => void;
  selected: boolean;
}): JSX.Element {
  const { item, showLayer } = props;
  const { prefix, short } = splitTableName(item.name);
  const tooltip = tableTooltip(item);
  const matched = matchedLabels(item);
  return (
    <div
      className={`aw-TableRow${props.selected ? ' aw-mod-selected' : ''}${
        showLayer ? ' aw-TableRow-search' : ''
      }`}
      data-testid="catalog-table"
      data-name={item.name}
      data-layer={item.layer}
      role="treeitem"
      tabIndex={0}
      title={tooltip}
      onClick={() => props.onOpen(item.name)}
      onKeyDown={e => {
        if (e.key === 'Enter') {
          e.preventDefault();
          props.onOpen(item.name);
        }
      }}
    >
      <div className="aw-TableRow-main">
        <tableIcon.react tag="span" className="aw-TableRow-icon" />
        <TableHealthDot name={item.name} />
        <span className="aw-TableRow-name">
          {showLayer && prefix ? <span className="aw-TableRow-layer">{prefix}</span> : null}
          {short}
        </span>
        {hasPii(item) ? <PiiBadge /> : null}
        <ClassificationBadge value={item.classification} />
      </div>
      {showLayer && matched.length ? (
        <div className="aw-TableRow-matched" data-testid="catalog-matched">
          matched {matched.join(' · ')}
        </div>
      ) : null}
    </div>
  );
}
