/**
 * The promotion's progress (elapsed time of the test run) and its result: scheduled,
 * pending review, already exists (replace), or not scheduled (report, edit and retry).
 */
import * as React from 'react';

import { absoluteUrl } from '../api';
import { IResult, Phase } from './state';

/** The title of a result. */
export function resultTitle(result: IResult): string {
  if (result.ok && result.approval === 'pending') {
    return `Pipeline ${result.pipeline} is pending review`;
  }
  if (result.ok) {
    return `Scheduled: pipeline ${result.pipeline}`;
  }
  return result.conflict ? 'This pipeline already exists' : 'Not scheduled';
}

export function Progress(props: { elapsed: number }): JSX.Element {
  return (
    <div className="aws-Progress" data-testid="schedule-progress">
      <span className="awr-Spinner aws-ProgressSpin" />
      <div>
        <div>Test-running the notebook against a copy of the lake…</div>
        <div className="awr-muted">
          {props.elapsed} s — this usually takes 10–60 s. Your real tables are not touched.
        </div>
      </div>
    </div>
  );
}

export function ResultPanel(props: {
  result: IResult;
  phase: Phase;
  name: string;
  openPipeline: (name: string) => void;
  replace: () => void;
  editAgain: () => void;
}): JSX.Element {
  const { result } = props;
  return (
    <div
      className={'aws-Result' + (result.ok ? ' aws-mod-ok' : ' aws-mod-failed')}
      data-testid="schedule-result"
      data-ok={result.ok ? 'true' : 'false'}
      data-approval={result.approval ?? ''}
      role={result.ok ? 'status' : 'alert'}
    >
      <div className="aws-ResultTitle">{resultTitle(result)}</div>
      <div className="aws-ResultMessage">{result.message}</div>
      {result.ok && result.approval === 'pending' && (
        <div className="aws-ResultNote" data-testid="schedule-pending">
          The Pipelines panel shows it as <b>Pending review</b> until an engineer or admin approves
          it; then it runs. Its reports are private until you share them from the Pipelines panel.
        </div>
      )}
      <div className="aws-ResultLinks">
        {result.ok && result.pipeline && (
          <button
            type="button"
            className="awr-Button awr-mod-accept"
            data-testid="schedule-open-pipeline"
            onClick={() => props.openPipeline(result.pipeline!)}
          >
            Open pipeline
          </button>
        )}
        {result.conflict && (
          <button
            type="button"
            className="awr-Button awr-mod-warn"
            data-testid="schedule-replace"
            onClick={props.replace}
          >
            Replace {props.name}
          </button>
        )}
        {result.reportUrl && (
          <a
            className="awr-Button awr-mod-link"
            data-testid="schedule-report"
            href={absoluteUrl(result.reportUrl)}
            target="_blank"
            rel="noopener noreferrer"
          >
            Test run report ↗
          </a>
        )}
        {!result.ok && !result.conflict && props.phase === 'done' && (
          <button type="button" className="awr-Button" onClick={props.editAgain}>
            Edit and retry
          </button>
        )}
      </div>
    </div>
  );
}
