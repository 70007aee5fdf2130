/**
 * The schedule fields of the form: cron with presets, timezone, and the live
 * preview (description and the next times).
 */
import * as React from 'react';

import type { ICronPreview } from '../api';
import { relativeTime } from '../common/format';
import { CRON_PRESETS, activePreset, formatIn, timezones } from './cron';

export function CronField(props: {
  cron: string;
  timezone: string;
  preview: ICronPreview | null;
  previewError: string | null;
  previewLoading: boolean;
  disabled: boolean;
  onCron: (cron: string) => void;
  onTimezone: (timezone: string) => void;
}): JSX.Element {
  const { cron, timezone, preview, previewError, disabled } = props;
  const active = activePreset(cron);
  return (
    <>
      <div className="aws-Row">
        <div className="aws-Field aws-mod-grow">
          <label htmlFor="aws-cron">Schedule (cron)</label>
          <input
            id="aws-cron"
            className="jp-mod-styled aws-Input aws-mod-code"
            data-testid="schedule-cron"
            value={cron}
            disabled={disabled}
            spellCheck={false}
            autoComplete="off"
            placeholder="min hour day month weekday"
            onChange={e => props.onCron(e.target.value)}
          />
        </div>
        <div className="aws-Field aws-mod-tz">
          <label htmlFor="aws-tz">Timezone</label>
          <input
            id="aws-tz"
            className="jp-mod-styled aws-Input"
            data-testid="schedule-timezone"
            list="aws-tz-list"
            value={timezone}
            disabled={disabled}
            spellCheck={false}
            autoComplete="off"
            onChange={e => props.onTimezone(e.target.value)}
          />
          <datalist id="aws-tz-list">
            {timezones().map(z => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
      </div>
      <div className="aws-Presets" role="group" aria-label="Cron presets">
        {CRON_PRESETS.map(p => (
          <button
            key={p.cron}
            type="button"
            className={'aws-Preset' + (active?.cron === p.cron ? ' aws-mod-active' : '')}
            disabled={disabled}
            title={p.cron}
            onClick={() => props.onCron(p.cron)}
          >
            {p.label}
          </button>
        ))}
      </div>
      <div className={'aws-Preview' + (previewError ? ' aws-mod-error' : '')} aria-live="polite">
        {previewError ? (
          <div className="aws-PreviewError" data-testid="cron-error">
            {previewError}
          </div>
        ) : preview ? (
          <>
            <div className="aws-PreviewDesc" data-testid="cron-description">
              {preview.description}
              <span className="awr-muted"> ({preview.timezone})</span>
              {props.previewLoading && <span className="awr-Spinner aws-PreviewSpin" />}
            </div>
            <ul className="aws-PreviewNext" data-testid="cron-next">
              {preview.next.map(t => (
                <li key={t}>
                  {formatIn(t, preview.timezone)}{' '}
                  <span className="awr-muted">{relativeTime(t)}</span>
                </li>
              ))}
            </ul>
          </>
        ) : (
          <div className="awr-muted">
            <span className="awr-Spinner" /> Checking the schedule…
          </div>
        )}
      </div>
    </>
  );
}
