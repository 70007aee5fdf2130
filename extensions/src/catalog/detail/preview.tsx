/**
 * The Preview tab: a page of rows, at the latest or a chosen snapshot.
 */
import * as React from 'react';

import { IPreviewResponse, catalog, isAbortError } from '../../api';
import { EmptyState, LoadingOrError } from '../../common/components';
import { formatCount, formatValue, isNumericType } from '../../common/format';

/** Rows per preview page. */
export const PREVIEW_PAGE = 50;

export function PreviewTab(props: {
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

  if (error || !page) {
    // an error replaces the rows shown (they may be of another page)
    return (
      <LoadingOrError
        data={error ? null : page}
        error={error}
        label={at === null ? 'Loading rows…' : `Loading rows at snapshot ${at}…`}
        onRetry={() => setRetry(r => r + 1)}
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
                <th
                  key={c.name}
                  className={numeric[i] ? 'aw-mod-numeric' : ''}
                  title={`${c.name}: ${c.type}`}
                >
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
