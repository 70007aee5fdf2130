/**
 * What the Pipelines panel shows of the selected pipeline's detail (`PipelineDetail`): the
 * trend of its duration and cost as two small sparklines (plain SVG; see `trend.ts`) and its
 * tasks with the checks each declares for the tables it writes.
 */
import * as React from 'react';

import type { IPipelineDetail } from '../api/types';
import { ISparkline, SPARK_HEIGHT, SPARK_WIDTH, trendSparklines } from './trend';

function Sparkline(props: { line: ISparkline }): JSX.Element {
  const l = props.line;
  const up = l.change !== null && l.change > 0;
  return (
    <span className="awr-Spark" data-testid="pipeline-trend" data-trend={l.key} title={l.title}>
      <span className="awr-muted">{l.label}</span>
      <svg
        className="awr-Spark-svg"
        width={SPARK_WIDTH}
        height={SPARK_HEIGHT}
        viewBox={`0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`}
        aria-hidden="true"
      >
        {l.points.length > 1 ? (
          <polyline points={l.points.map(p => p.join(',')).join(' ')} />
        ) : (
          l.points.map(([x, y]) => <circle key="dot" cx={x} cy={y} r={1.5} />)
        )}
      </svg>
      <span className="awr-Spark-last">{l.last}</span>
      {l.changeText && (
        <span
          className={'awr-Spark-change' + (up ? ' awr-mod-up' : '')}
          title="The last run against the median of the runs before it"
        >
          {l.changeText}
        </span>
      )}
    </span>
  );
}

export function PipelineInsight(props: { detail: IPipelineDetail | null }): JSX.Element | null {
  const d = props.detail;
  if (!d) {
    return null;
  }
  const lines = trendSparklines(d.trend);
  const tasks = (d.tasks ?? []).filter(t => (t.checks ?? []).length > 0);
  if (lines.length === 0 && tasks.length === 0) {
    return null;
  }
  return (
    <div className="awr-PipelineInsight" data-testid="pipeline-insight">
      {lines.length > 0 && (
        <div className="awr-Sparks">
          {lines.map(l => (
            <Sparkline key={l.key} line={l} />
          ))}
        </div>
      )}
      {tasks.length > 0 && (
        <div className="awr-TaskChecks" data-testid="pipeline-checks">
          <div className="awr-muted">Declared checks</div>
          <ul>
            {tasks.map(t => (
              <li key={t.name} data-task={t.name}>
                <b>{t.name}</b>
                <ul>
                  {(t.checks ?? []).map(c => (
                    <li
                      key={`${c.table}:${c.name}`}
                      data-testid="task-check"
                      title={`${c.type} on ${c.table}; ${
                        c.severity === 'error' ? 'a failure blocks the write' : 'a failure warns'
                      }`}
                    >
                      <code>{c.table}</code> {c.name}{' '}
                      <span className={'awr-Tag awr-mod-' + c.severity}>{c.severity}</span>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
