/**
 * The Quality tab: the table's health, the last result of each declared
 * check, the monitors' findings (detector and explanation), the row count
 * over its latest commits (Vega-Lite charts of rows, freshness and null
 * rates with anomalies marked, or a sparkline without a Vega-Lite renderer),
 * and PII suggestions that the owner confirms or dismisses.
 */
import * as React from 'react';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { LoadingOrError } from '../../common/components';
import { formatCount, formatTime } from '../../common/format';
import { HealthDot } from '../health';
import { quality } from '../qualityapi';
import {
  ITableQuality,
  PiiAction,
  applyReview,
  chartsToRender,
  checkSummary,
  detectorLabel,
  freshnessLine,
  healthWord,
  piiActions,
  piiLabel,
  sortChecks,
  sortFindings,
  sparklinePoints
} from '../qualitymodel';
import { QualityCharts } from './qualitycharts';

const SPARK_W = 220;
const SPARK_H = 40;

export function QualityTab(props: {
  name: string;
  data: ITableQuality | null;
  error: unknown;
  onRetry: () => void;
  onChange: (data: ITableQuality) => void;
  /** After a review: reload the table's quality (its health may change). */
  onReviewed: () => void;
  /** The Lab's renderers: the charts need its Vega-Lite one (else a sparkline). */
  rendermime?: IRenderMimeRegistry | null;
}): JSX.Element {
  const { name, data, rendermime } = props;
  const [busy, setBusy] = React.useState<string | null>(null);
  const [reviewError, setReviewError] = React.useState<string | null>(null);

  if (!data) {
    return (
      <>
        <LoadingOrError
          data={data}
          error={props.error}
          label="Loading quality…"
          onRetry={props.onRetry}
        />
      </>
    );
  }

  const review = (column: string, action: PiiAction) => {
    setBusy(column);
    setReviewError(null);
    quality
      .reviewPii(name, column, action)
      .then(() => {
        props.onChange(applyReview(data, column, action));
        props.onReviewed();
      })
      .catch(err => setReviewError((err as Error).message))
      .finally(() => setBusy(null));
  };

  const counts = data.history.map(p => p.rows_total);
  const freshness = freshnessLine(data.health, formatTime);
  const last = data.history[data.history.length - 1];
  const charts = chartsToRender(data.charts, rendermime?.mimeTypes ?? null);
  return (
    <div className="aw-Quality" data-testid="quality-tab" data-health={data.health.health}>
      <div className="aw-Quality-health" data-testid="quality-health">
        <HealthDot row={data.health} />
        <strong>{healthWord(data.health.health)}</strong>
        <span className="aw-Quality-muted">{data.health.message}</span>
      </div>
      {freshness ? (
        <p className="aw-Quality-muted" data-testid="quality-freshness">
          {freshness}
        </p>
      ) : null}

      <section className="aw-Quality-section">
        <h3>{charts.length ? 'History' : 'Row count'}</h3>
        {charts.length && rendermime ? (
          <QualityCharts charts={charts} rendermime={rendermime} />
        ) : null}
        {counts.length ? (
          <div className="aw-Quality-spark" data-testid="quality-sparkline">
            {charts.length ? null : (
              <svg width={SPARK_W} height={SPARK_H} role="img" aria-label="Rows over commits">
                <polyline
                  points={sparklinePoints(counts, SPARK_W, SPARK_H)}
                  fill="none"
                  stroke="currentColor"
                  strokeWidth={1.5}
                />
              </svg>
            )}
            <span className="aw-Quality-muted">
              {formatCount(last.rows_total)} rows after snapshot {last.snapshot_id} (
              {formatTime(last.committed_at)}), {counts.length}{' '}
              {counts.length === 1 ? 'commit' : 'commits'}
            </span>
          </div>
        ) : (
          <p className="aw-Quality-muted">No commits recorded yet.</p>
        )}
      </section>

      <section className="aw-Quality-section">
        <h3>
          Checks <span className="aw-Quality-muted">{checkSummary(data.checks)}</span>
        </h3>
        {data.checks.length ? (
          <table className="aw-Quality-table" data-testid="quality-checks">
            <tbody>
              {sortChecks(data.checks).map(c => (
                <tr key={c.name} data-testid="quality-check" data-status={c.status}>
                  <td>
                    <span className={`aw-CheckStatus aw-CheckStatus-${c.status}`}>{c.status}</span>
                  </td>
                  <td>
                    <code>{c.name}</code>
                  </td>
                  <td className="aw-Quality-muted">{c.severity ?? ''}</td>
                  <td>{c.message ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="aw-Quality-muted">
            No declared check has run on this table (declare them in its contract).
          </p>
        )}
        {data.checks_at ? (
          <p className="aw-Quality-muted">
            Last run {formatTime(data.checks_at)}
            {data.checks_trigger ? ` (${data.checks_trigger})` : ''}
          </p>
        ) : null}
      </section>

      <section className="aw-Quality-section">
        <h3>Findings</h3>
        {data.findings.length ? (
          <ul className="aw-Quality-findings" data-testid="quality-findings">
            {sortFindings(data.findings).map((f, i) => (
              <li key={i} data-testid="quality-finding" data-kind={f.kind}>
                <span className={`aw-Severity aw-Severity-${f.severity}`}>{f.severity}</span>{' '}
                <strong>{detectorLabel(f.kind)}</strong>
                {f.column ? (
                  <>
                    {' '}
                    on <code>{f.column}</code>
                  </>
                ) : null}
                <div className="aw-Quality-muted">{f.message}</div>
              </li>
            ))}
          </ul>
        ) : (
          <p className="aw-Quality-muted">No active finding.</p>
        )}
      </section>

      <section className="aw-Quality-section">
        <h3>Personal data</h3>
        {reviewError ? (
          <div className="aw-InlineError" role="alert" data-testid="pii-review-error">
            {reviewError}
          </div>
        ) : null}
        {data.pii.length ? (
          <table className="aw-Quality-table" data-testid="quality-pii">
            <tbody>
              {data.pii.map(p => (
                <tr
                  key={p.column}
                  data-testid="pii-suggestion"
                  data-column={p.column}
                  data-status={p.status}
                >
                  <td>
                    <code>{p.column}</code>
                  </td>
                  <td>{piiLabel(p)}</td>
                  <td className="aw-Quality-muted">{p.example ? `e.g. ${p.example}` : ''}</td>
                  <td>
                    {piiActions(p, data.can_review).length ? (
                      piiActions(p, data.can_review).map(a => (
                        <button
                          key={a}
                          className={`jp-Button jp-mod-styled aw-Button ${
                            a === 'confirm' ? 'jp-mod-accept' : 'jp-mod-reject'
                          }`}
                          data-testid={`pii-${a}`}
                          disabled={busy !== null}
                          onClick={() => review(p.column, a)}
                        >
                          {a === 'confirm' ? 'Confirm PII' : 'Dismiss'}
                        </button>
                      ))
                    ) : (
                      <span className="aw-Quality-muted" title={data.review_note ?? ''}>
                        {p.status}
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="aw-Quality-muted">No column looks like personal data.</p>
        )}
        {!data.can_review && data.review_note ? (
          <p className="aw-Quality-muted">{data.review_note}</p>
        ) : null}
      </section>
    </div>
  );
}
