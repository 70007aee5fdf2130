/**
 * The Pipelines tab: the scheduled pipelines (and tasks) that write the table.
 */
import * as React from 'react';

import { IWriter } from '../../api';
import { EmptyState } from '../../common/components';
import { formatCount, formatRelative, formatTime, formatTimeLong } from '../../common/format';
import { IDetailActions } from './actions';

export function PipelinesTab(props: {
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
          Tables written by scheduled pipelines list the pipeline and task here. This one was
          written from a notebook or by the demo.
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
          <tr
            key={`${w.pipeline}/${w.task}/${i}`}
            data-testid="pipeline-row"
            data-pipeline={w.pipeline}
          >
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
