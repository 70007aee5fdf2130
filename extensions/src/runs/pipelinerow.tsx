/**
 * One pipeline of the Pipelines panel: name, review state, audience, last run, schedule,
 * and the actions the caller may take (`can_manage`, `can_approve` of the listing).
 */
import * as React from 'react';

import { IPipelineSummary } from '../api';
import { ActionButton, RelTime, StateBadge } from '../common/components';
import { pauseIcon, playIcon, resumeIcon, shareIcon } from '../common/icons';
import { audienceLabel } from './share';

export interface IPipelineRowProps {
  pipeline: IPipelineSummary;
  selected: boolean;
  busy: Set<string>;
  onSelect: (name: string) => void;
  onTrigger: (name: string) => void;
  onPause: (name: string, paused: boolean) => void;
  onApprove: (name: string) => void;
  onShare: (name: string) => void;
}

/** Listings of an older server carry no permissions: offer the actions, the server decides. */
function may(flag: boolean | undefined): boolean {
  return flag === undefined ? true : flag;
}

export function PipelineRow(props: IPipelineRowProps): JSX.Element {
  const p = props.pipeline;
  const state = p.last_run_state ?? 'none';
  const pending = p.approval === 'pending';
  const next = p.paused || pending ? null : p.next_runs?.[0];
  const manage = may(p.can_manage);
  const approve = pending && !!p.can_approve;
  const shared = !!p.audience && audienceLabel(p.audience) !== 'Private';
  return (
    <li
      className={
        'awr-PipelineRow' +
        (props.selected ? ' jp-mod-selected awr-mod-selected' : '') +
        (p.error ? ' awr-mod-invalid' : '') +
        (pending ? ' awr-mod-pending' : '')
      }
      data-testid="pipeline-row"
      data-name={p.name}
      data-state={state}
      data-paused={p.paused ? 'true' : 'false'}
      data-approval={p.approval ?? 'approved'}
      role="option"
      aria-selected={props.selected}
      tabIndex={0}
      onClick={() => props.onSelect(p.name)}
      onKeyDown={e => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          props.onSelect(p.name);
        }
      }}
    >
      <div className="awr-PipelineRow-top">
        <span
          className="awr-PipelineRow-name"
          title={p.description ? `${p.name}: ${p.description}` : p.name}
        >
          {p.name}
        </span>
        {p.paused && !pending && (
          <span className="awr-Tag awr-mod-paused" title="Paused: no scheduled runs start">
            Paused
          </span>
        )}
        <span className="awr-PipelineRow-actions">
          {approve && (
            <ActionButton
              label="Approve"
              title={`Approve ${p.name}: its schedule starts now and it may be run`}
              accept
              testid="pipeline-approve"
              busy={props.busy.has('approve:' + p.name)}
              onClick={() => props.onApprove(p.name)}
            />
          )}
          {manage && (
            <ActionButton
              label="Share"
              title={`Share the reports of ${p.name} (now: ${audienceLabel(p.audience)})`}
              icon={shareIcon}
              iconOnly
              testid="pipeline-share"
              busy={props.busy.has('share:' + p.name)}
              onClick={() => props.onShare(p.name)}
            />
          )}
          {manage && !pending && (
            <ActionButton
              label="Run now"
              title={`Trigger a run of ${p.name} now`}
              icon={playIcon}
              iconOnly
              testid="pipeline-trigger"
              disabled={!!p.error}
              busy={props.busy.has('trigger:' + p.name)}
              onClick={() => props.onTrigger(p.name)}
            />
          )}
          {manage &&
            !pending &&
            (p.paused ? (
              <ActionButton
                label="Resume"
                title="Resume the schedule"
                icon={resumeIcon}
                iconOnly
                testid="pipeline-resume"
                busy={props.busy.has('pause:' + p.name)}
                onClick={() => props.onPause(p.name, false)}
              />
            ) : (
              <ActionButton
                label="Pause"
                title="Pause the schedule: no scheduled run starts until resumed"
                icon={pauseIcon}
                iconOnly
                testid="pipeline-pause"
                busy={props.busy.has('pause:' + p.name)}
                onClick={() => props.onPause(p.name, true)}
              />
            ))}
        </span>
      </div>
      <div className="awr-PipelineRow-meta">
        {pending ? (
          <span
            className="awr-Tag awr-mod-pending"
            data-testid="pipeline-pending"
            title={
              `Pending review${p.promoted_by ? `: promoted by ${p.promoted_by}` : ''}. ` +
              'It cannot run until an engineer or admin approves it.'
            }
          >
            Pending review
          </span>
        ) : (
          <StateBadge state={p.last_run_state} small />
        )}
        {next && (
          <span className="awr-PipelineRow-next">
            next <RelTime iso={next} />
          </span>
        )}
        <span
          className={'awr-Tag awr-PipelineRow-audience' + (shared ? ' awr-mod-shared' : '')}
          data-testid="pipeline-audience"
          title={
            shared
              ? `Its reports are shared with ${audienceLabel(p.audience)}`
              : 'Private: only its owner, engineers and admins see its runs and reports'
          }
        >
          {shared ? `Shared: ${audienceLabel(p.audience)}` : 'Private'}
        </span>
      </div>
      <div className="awr-PipelineRow-schedule">
        {p.owner && (
          <span className="awr-PipelineRow-owner" title={`Owned by ${p.owner}`}>
            {p.owner}
            <span className="awr-sep">·</span>
          </span>
        )}
        {pending ? (
          <span className="awr-muted" data-testid="pipeline-pending-note">
            Waits for an engineer or admin to approve it; it cannot run until then.
          </span>
        ) : p.schedule ? (
          <span title={`cron ${p.schedule.cron} in ${p.schedule.timezone}`}>
            <code>{p.schedule.cron}</code>
            <span className="awr-sep">·</span>
            {p.schedule.timezone}
          </span>
        ) : p.after?.length ? (
          <span>after {p.after.join(', ')}</span>
        ) : (
          <span>manual only</span>
        )}
      </div>
      {p.error && (
        <div className="awr-PipelineRow-error" title={p.error}>
          {p.error}
        </div>
      )}
    </li>
  );
}
