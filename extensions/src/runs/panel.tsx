/**
 * The "Pipelines" sidebar panel: every pipeline with its last state, schedule and next
 * run; the runs of the selected pipeline. Polls while visible (fast while something is
 * queued or running).
 */
import * as React from 'react';

import { Notification } from '@jupyterlab/apputils';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';

import { IPipelineDetail, IPipelineSummary, IRun, errorMessage, isActive, jobs } from '../api';
import { ActionButton, ErrorBanner, StateBadge } from '../common/components';
import { absoluteTime, durationBetween, shortTime } from '../common/format';
import { pipelinesIcon, playIcon } from '../common/icons';
import { IWorkspaceRuns } from '../tokens';
import { PipelineInsight } from './pipelineinsight';
import { PipelineRow } from './pipelinerow';
import { askAudience } from './share';

/** Poll intervals, ms. */
export const FAST_INTERVAL = 3000;
export const IDLE_INTERVAL = 30000;

export interface IRunsPanelOptions {
  /** Opens runs (main area) and carries the "runs changed" signal. */
  runs: IWorkspaceRuns;
}

export class RunsPanel extends ReactWidget {
  constructor(options: IRunsPanelOptions) {
    super();
    this._runsService = options.runs;
    this._openRun = runId => options.runs.openRun(runId);
    this.id = 'workspace-runs';
    this.addClass('awr-RunsPanel');
    this.title.icon = pipelinesIcon;
    this.title.caption = 'Pipelines';
    this._poll = new Poll({
      auto: false,
      factory: () => this._refresh(),
      frequency: { interval: IDLE_INTERVAL, backoff: true, max: 120000 },
      name: 'analytics-workspace:runs-panel',
      standby: () => this.isHidden || 'when-hidden'
    });
    this._runsService.runsChanged.connect(this._onJobsChanged, this);
  }

  private _onJobsChanged(): void {
    if (this.isVisible) {
      void this.refresh();
    }
  }

  /** Select a pipeline (shows its runs) and refresh now. */
  select(name: string | null): void {
    if (this._selected !== name) {
      this._selected = name;
      this._runs = null;
      this._runsError = null;
      this._detail = null;
      this._detailKey = null;
      this.update();
    }
    void this.refresh();
  }

  get selected(): string | null {
    return this._selected;
  }

  /** Refresh now (and restart the poll). */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._runsService.runsChanged.disconnect(this._onJobsChanged, this);
    this._poll.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._poll.start();
    void this._poll.refresh();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    void this._poll.stop();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      void this._poll.start();
      void this._poll.refresh();
    }
  }

  private async _refresh(): Promise<void> {
    try {
      const list = await jobs.pipelines();
      this._pipelines = list.pipelines;
      this._loadError = null;
    } catch (err) {
      this._loadError = errorMessage(err);
    }
    const selected = this._selected;
    if (selected) {
      try {
        const runs = await jobs.runs(selected, 20);
        // the detail (trend, declared checks) again only when a run of it has finished
        const finished = runs.runs.find(r => !isActive(r.state))?.run_id ?? '';
        const key = `${selected}:${finished}`;
        const detail =
          key === this._detailKey ? this._detail : await jobs.pipeline(selected).catch(() => null); // optional
        if (this._selected === selected) {
          this._runs = runs.runs;
          this._detail = detail;
          this._detailKey = detail ? key : null;
          this._runsError = null;
        }
      } catch (err) {
        if (this._selected === selected) {
          this._runsError = errorMessage(err);
        }
      }
    }
    const active =
      (this._pipelines ?? []).some(p => isActive(p.last_run_state)) ||
      (this._runs ?? []).some(r => isActive(r.state));
    const interval = active ? FAST_INTERVAL : IDLE_INTERVAL;
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = {
        interval,
        backoff: !active,
        max: active ? FAST_INTERVAL * 4 : 120000
      };
    }
    this.update();
  }

  private async _action(
    key: string,
    fn: () => Promise<unknown>,
    done?: (result: any) => void
  ): Promise<void> {
    this._busy.add(key);
    this._actionError = null;
    this.update();
    try {
      const result = await fn();
      done?.(result);
    } catch (err) {
      this._actionError = errorMessage(err);
    } finally {
      this._busy.delete(key);
      this.update();
      this._runsService.notifyRunsChanged(key); // refreshes this panel too
    }
  }

  trigger(name: string): Promise<void> {
    return this._action(
      'trigger:' + name,
      () => jobs.trigger(name),
      (run: IRun) => {
        if (this._selected !== name) {
          this._selected = name;
          this._runs = null;
        }
        Notification.success(`Run ${run.run_id} of ${name} queued.`, {
          autoClose: 5000,
          actions: [
            {
              label: 'Open run',
              callback: () => this._openRun(run.run_id)
            }
          ]
        });
      }
    );
  }

  setPaused(name: string, paused: boolean): Promise<void> {
    return this._action('pause:' + name, () => (paused ? jobs.pause(name) : jobs.resume(name)));
  }

  approve(name: string): Promise<void> {
    return this._action(
      'approve:' + name,
      () => jobs.approve(name),
      () =>
        Notification.success(`${name} approved: it may run now.`, {
          autoClose: 4000
        })
    );
  }

  /** Ask who may read the pipeline's reports, then save it. */
  async share(name: string): Promise<void> {
    const current = (this._pipelines ?? []).find(p => p.name === name);
    const audience = await askAudience(name, current?.audience);
    if (audience === null) {
      return;
    }
    const who = [...(audience.groups ?? []), ...(audience.users ?? [])];
    return this._action(
      'share:' + name,
      () => jobs.setAudience(name, audience),
      () =>
        Notification.success(
          who.length ? `${name} is shared with ${who.join(', ')}.` : `${name} is private again.`,
          { autoClose: 4000 }
        )
    );
  }

  render(): JSX.Element {
    return (
      <RunsPanelView
        pipelines={this._pipelines}
        loadError={this._loadError}
        actionError={this._actionError}
        selected={this._selected}
        runs={this._runs}
        detail={this._detail}
        runsError={this._runsError}
        busy={this._busy}
        onSelect={name => this.select(name)}
        onTrigger={name => void this.trigger(name)}
        onPause={(name, paused) => void this.setPaused(name, paused)}
        onApprove={name => void this.approve(name)}
        onShare={name => void this.share(name)}
        onOpenRun={id => this._openRun(id)}
        onRefresh={() => void this.refresh()}
        onDismissError={() => {
          this._actionError = null;
          this.update();
        }}
      />
    );
  }

  private _runsService: IWorkspaceRuns;
  private _openRun: (runId: string) => void;
  private _poll: Poll;
  private _pipelines: IPipelineSummary[] | null = null;
  private _loadError: string | null = null;
  private _actionError: string | null = null;
  private _selected: string | null = null;
  private _runs: IRun[] | null = null;
  private _detail: IPipelineDetail | null = null;
  private _detailKey: string | null = null;
  private _runsError: string | null = null;
  private _busy = new Set<string>();
}

interface IViewProps {
  pipelines: IPipelineSummary[] | null;
  loadError: string | null;
  actionError: string | null;
  selected: string | null;
  runs: IRun[] | null;
  detail: IPipelineDetail | null;
  runsError: string | null;
  busy: Set<string>;
  onSelect: (name: string) => void;
  onTrigger: (name: string) => void;
  onPause: (name: string, paused: boolean) => void;
  onApprove: (name: string) => void;
  onShare: (name: string) => void;
  onOpenRun: (runId: string) => void;
  onRefresh: () => void;
  onDismissError: () => void;
}

function RunsPanelView(props: IViewProps): JSX.Element {
  const { pipelines, loadError } = props;
  let body: JSX.Element;
  if (pipelines === null && loadError) {
    body = (
      <div className="awr-Empty awr-mod-error" data-testid="runs-error">
        <div className="awr-Empty-title">Could not load the pipelines</div>
        <div className="awr-Empty-text">{loadError}</div>
        <ActionButton label="Retry" icon={refreshIcon} onClick={props.onRefresh} />
      </div>
    );
  } else if (pipelines === null) {
    body = (
      <div className="awr-Loading">
        <span className="awr-Spinner" /> Loading pipelines…
      </div>
    );
  } else if (pipelines.length === 0) {
    body = (
      <div className="awr-Empty" data-testid="runs-empty">
        <pipelinesIcon.react tag="div" className="awr-Empty-icon" />
        <div className="awr-Empty-title">No pipelines yet</div>
        <div className="awr-Empty-text">
          No pipelines yet — open a notebook and use <b>Schedule</b> in its toolbar to turn it into
          a scheduled pipeline.
        </div>
      </div>
    );
  } else {
    const selected = pipelines.find(p => p.name === props.selected);
    body = (
      <>
        {loadError && (
          <div className="awr-Error" role="alert" data-testid="runs-error">
            <span className="awr-Error-text">{loadError}</span>
          </div>
        )}
        <ul className="awr-PipelineList" role="listbox" aria-label="Pipelines">
          {pipelines.map(p => (
            <PipelineRow
              key={p.name}
              pipeline={p}
              selected={p.name === props.selected}
              busy={props.busy}
              onSelect={props.onSelect}
              onTrigger={props.onTrigger}
              onPause={props.onPause}
              onApprove={props.onApprove}
              onShare={props.onShare}
            />
          ))}
        </ul>
        {props.selected && props.detail?.name === props.selected && (
          <PipelineInsight detail={props.detail} />
        )}
        {props.selected && (
          <RunsSection
            pipeline={props.selected}
            summary={selected}
            runs={props.runs}
            error={props.runsError}
            onOpenRun={props.onOpenRun}
          />
        )}
      </>
    );
  }
  return (
    <div className="awr-RunsPanel-content">
      <div className="awr-PanelHeader">
        <span className="awr-PanelHeader-title">Pipelines</span>
        <button type="button" className="awr-IconButton" title="Refresh" onClick={props.onRefresh}>
          <refreshIcon.react tag="span" />
        </button>
      </div>
      <ErrorBanner message={props.actionError} onDismiss={props.onDismissError} />
      <div className={'awr-RunsPanel-body' + (props.selected ? ' awr-mod-hasSelection' : '')}>
        {body}
      </div>
    </div>
  );
}

const TRIGGER_LABELS: Record<string, string> = {
  schedule: 'Scheduled',
  manual: 'Manual',
  after: 'After upstream',
  backfill: 'Backfill'
};

function RunsSection(props: {
  pipeline: string;
  summary?: IPipelineSummary;
  runs: IRun[] | null;
  error: string | null;
  onOpenRun: (runId: string) => void;
}): JSX.Element {
  let content: JSX.Element;
  if (props.runs === null && props.error) {
    content = (
      <div className="awr-Error" role="alert">
        <span className="awr-Error-text">{props.error}</span>
      </div>
    );
  } else if (props.runs === null) {
    content = (
      <div className="awr-Loading">
        <span className="awr-Spinner" /> Loading runs…
      </div>
    );
  } else if (props.runs.length === 0 && props.summary?.approval === 'pending') {
    content = (
      <div className="awr-Empty awr-mod-small" data-testid="runs-none">
        {props.pipeline} is pending review: it can run once an engineer or admin approves it.
      </div>
    );
  } else if (props.runs.length === 0) {
    content = (
      <div className="awr-Empty awr-mod-small" data-testid="runs-none">
        No runs of {props.pipeline} yet. Use{' '}
        <playIcon.react tag="span" className="awr-InlineIcon" /> to start one.
      </div>
    );
  } else {
    content = (
      <ul className="awr-RunList">
        {props.runs.map(r => (
          <RunRow key={r.run_id} run={r} onOpen={props.onOpenRun} />
        ))}
      </ul>
    );
  }
  return (
    <div className="awr-RunsSection">
      <div className="awr-SectionHeader">
        <span>
          Runs of <b>{props.pipeline}</b>
        </span>
      </div>
      {content}
    </div>
  );
}

function RunRow(props: { run: IRun; onOpen: (runId: string) => void }): JSX.Element {
  const r = props.run;
  const when = r.started_at ?? r.scheduled_for ?? r.created_at;
  const whenLabel = r.started_at ? 'Started' : r.scheduled_for ? 'Scheduled for' : 'Created';
  return (
    <li
      className="awr-RunRow"
      data-testid="run-row"
      data-run-id={r.run_id}
      data-state={r.state}
      tabIndex={0}
      title={`Open run ${r.run_id}`}
      onClick={() => props.onOpen(r.run_id)}
      onKeyDown={e => {
        if (e.key === 'Enter') {
          props.onOpen(r.run_id);
        }
      }}
    >
      <div className="awr-RunRow-top">
        <StateBadge state={r.state} small />
        <span className="awr-RunRow-id">{r.run_id}</span>
      </div>
      <div className="awr-RunRow-meta">
        <span className="awr-Tag" title={r.triggered_by ? `by ${r.triggered_by}` : ''}>
          {TRIGGER_LABELS[r.trigger] ?? r.trigger}
          {r.repair_generation > 0 ? ` · repair ${r.repair_generation}` : ''}
        </span>
        <span title={`${whenLabel} ${absoluteTime(when)}`}>{shortTime(when)}</span>
        {r.started_at && (
          <span className="awr-RunRow-duration" title="Duration">
            {durationBetween(r.started_at, r.finished_at)}
          </span>
        )}
      </div>
    </li>
  );
}
