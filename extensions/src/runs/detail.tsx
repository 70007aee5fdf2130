/**
 * The detail of one run, shown in the main area: header, actions, task graph or list,
 * attempts with reports and logs, outputs and the events timeline.
 */
import * as React from 'react';

import { Notification } from '@jupyterlab/apputils';
import { ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  IAttempt,
  IAttemptLog,
  IPipelineDetail,
  IRun,
  IRunDetail,
  ITask,
  absoluteUrl,
  errorMessage,
  isActive,
  jobs
} from '../api';
import { ActionButton, ErrorBanner, JsonBlock, RelTime, StateBadge } from '../common/components';
import { absoluteTime, clockTime, durationBetween, shortTime } from '../common/format';
import { playIcon } from '../common/icons';
import { IWorkspaceRuns } from '../tokens';
import { IGraphNode, TaskGraph, buildNodes } from './graph';
import { FAST_INTERVAL, IDLE_INTERVAL } from './panel';
import { attemptResources } from './resources';
import { AttemptResources } from './resourcesview';

const REPAIRABLE = ['failed', 'timed_out', 'cancelled'];

export interface IRunDetailOptions {
  runId: string;
  /** Opens other runs and carries the "runs changed" signal. */
  runs: IWorkspaceRuns;
}

export class RunDetailWidget extends ReactWidget {
  constructor(options: IRunDetailOptions) {
    super();
    this.runId = options.runId;
    this._runs = options.runs;
    this._openRun = runId => options.runs.openRun(runId);
    this.addClass('awr-RunDetail');
    this._poll = new Poll({
      auto: true,
      factory: () => this._refresh(),
      frequency: { interval: FAST_INTERVAL, backoff: false },
      name: 'analytics-workspace:run-detail',
      standby: () => !this.isVisible || 'when-hidden'
    });
  }

  readonly runId: string;

  /** Emitted when the run's state changes (title updates). */
  get stateChanged(): ISignal<this, IRun> {
    return this._stateChanged;
  }

  get detail(): IRunDetail | null {
    return this._detail;
  }

  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
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
      void this._poll.refresh();
    }
  }

  private async _refresh(): Promise<void> {
    try {
      const detail = await jobs.run(this.runId);
      const previous = this._detail?.run.state;
      this._detail = detail;
      this._error = null;
      if (previous !== detail.run.state) {
        this._stateChanged.emit(detail.run);
      }
      if (!this._pipeline && !this._pipelineRequested) {
        this._pipelineRequested = true;
        jobs
          .pipeline(detail.run.pipeline)
          .then(p => {
            this._pipeline = p;
            this.update();
          })
          .catch(() => {
            /* the graph falls back to the run's own tasks */
          });
      }
    } catch (err) {
      this._error = errorMessage(err);
    }
    const active = this._detail ? isActive(this._detail.run.state) : false;
    const interval = active ? FAST_INTERVAL : IDLE_INTERVAL;
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { interval, backoff: !active, max: 120000 };
    }
    this.update();
  }

  private async _action(
    key: string,
    fn: () => Promise<unknown>,
    done?: (result: any) => void
  ): Promise<void> {
    this._busy = key;
    this._actionError = null;
    this.update();
    try {
      // not `done?.(await fn())`: an optional call skips evaluating its arguments
      const result = await fn();
      done?.(result);
    } catch (err) {
      this._actionError = errorMessage(err);
    } finally {
      this._busy = null;
      this.update();
      void this.refresh();
      this._runs.notifyRunsChanged(this.runId);
    }
  }

  private _repair = () =>
    this._action(
      'repair',
      () => jobs.repair(this.runId),
      r => {
        const n = r.reset?.length ?? 0;
        Notification.info(`Run ${this.runId} re-queued: ${n} task${n === 1 ? '' : 's'} reset.`, {
          autoClose: 4000
        });
      }
    );

  private _cancel = () => this._action('cancel', () => jobs.cancel(this.runId));

  private _triggerAgain = () => {
    const run = this._detail?.run;
    if (!run) {
      return;
    }
    void this._action(
      'trigger',
      () => jobs.trigger(run.pipeline, run.parameters ?? {}),
      (newRun: IRun) => this._openRun(newRun.run_id)
    );
  };

  private async _loadLog(attempt: IAttempt): Promise<void> {
    const key = attempt.attempt_id;
    this._logs.set(key, { loading: true });
    this.update();
    try {
      const log = await jobs.log(this.runId, attempt.attempt_id);
      this._logs.set(key, { loading: false, log });
    } catch (err) {
      this._logs.set(key, { loading: false, error: errorMessage(err) });
    }
    this.update();
  }

  render(): JSX.Element {
    if (!this._detail) {
      return (
        <div className="awr-RunDetail-root" data-testid="run-detail" data-run-id={this.runId}>
          {this._error ? (
            <div className="awr-Empty awr-mod-error" data-testid="runs-error">
              <div className="awr-Empty-title">Could not load run {this.runId}</div>
              <div className="awr-Empty-text">{this._error}</div>
              <ActionButton label="Retry" icon={refreshIcon} onClick={() => void this.refresh()} />
            </div>
          ) : (
            <div className="awr-Loading">
              <span className="awr-Spinner" /> Loading run {this.runId}…
            </div>
          )}
        </div>
      );
    }
    return (
      <RunDetailView
        detail={this._detail}
        pipeline={this._pipeline}
        error={this._error}
        actionError={this._actionError}
        busy={this._busy}
        view={this._view}
        expanded={this._expanded}
        logs={this._logs}
        onView={v => {
          this._view = v;
          this.update();
        }}
        onToggle={key => {
          if (this._expanded.has(key)) {
            this._expanded.delete(key);
          } else {
            this._expanded.add(key);
          }
          this.update();
        }}
        onSelectNode={key => {
          this._expanded.add(key);
          this._selected = key;
          this.update();
          requestAnimationFrame(() => {
            const row = this.node.querySelector(
              `[data-testid="task-row"][data-task="${CSS.escape(key)}"], [data-testid="task-group"][data-task="${CSS.escape(key)}"]`
            );
            row?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
          });
        }}
        selected={this._selected}
        onLog={a => void this._loadLog(a)}
        onHideLog={a => {
          this._logs.delete(a.attempt_id);
          this.update();
        }}
        onRepair={() => void this._repair()}
        onCancel={() => void this._cancel()}
        onTriggerAgain={this._triggerAgain}
        onOpenRun={this._openRun}
        onRefresh={() => void this.refresh()}
        onDismissError={() => {
          this._actionError = null;
          this.update();
        }}
      />
    );
  }

  private _runs: IWorkspaceRuns;
  private _openRun: (runId: string) => void;
  private _poll: Poll;
  private _detail: IRunDetail | null = null;
  private _pipeline: IPipelineDetail | null = null;
  private _pipelineRequested = false;
  private _error: string | null = null;
  private _actionError: string | null = null;
  private _busy: string | null = null;
  private _view: 'graph' | 'list' = 'graph';
  private _expanded = new Set<string>();
  private _selected: string | null = null;
  private _logs = new Map<number, ILogState>();
  private _stateChanged = new Signal<this, IRun>(this);
}

interface ILogState {
  loading: boolean;
  log?: IAttemptLog;
  error?: string;
}

interface IViewProps {
  detail: IRunDetail;
  pipeline: IPipelineDetail | null;
  error: string | null;
  actionError: string | null;
  busy: string | null;
  view: 'graph' | 'list';
  expanded: Set<string>;
  selected: string | null;
  logs: Map<number, ILogState>;
  onView: (v: 'graph' | 'list') => void;
  onToggle: (key: string) => void;
  onSelectNode: (key: string) => void;
  onLog: (a: IAttempt) => void;
  onHideLog: (a: IAttempt) => void;
  onRepair: () => void;
  onCancel: () => void;
  onTriggerAgain: () => void;
  onOpenRun: (runId: string) => void;
  onRefresh: () => void;
  onDismissError: () => void;
}

const TRIGGER_LABELS: Record<string, string> = {
  schedule: 'Schedule',
  manual: 'Manual',
  after: 'After upstream',
  backfill: 'Backfill'
};

function RunDetailView(props: IViewProps): JSX.Element {
  const { detail } = props;
  const run = detail.run;
  const nodes = buildNodes(props.pipeline?.tasks ?? null, detail.tasks);
  const attemptsByTask = new Map<string, IAttempt[]>();
  for (const a of detail.attempts) {
    const list = attemptsByTask.get(a.task_key) ?? [];
    list.push(a);
    attemptsByTask.set(a.task_key, list);
  }
  for (const list of attemptsByTask.values()) {
    list.sort((a, b) => a.attempt_id - b.attempt_id);
  }
  const attemptTimes = new Map<string, { start: string; end?: string | null }>();
  for (const [key, list] of attemptsByTask) {
    const last = list[list.length - 1];
    attemptTimes.set(key, { start: last.started_at, end: last.finished_at });
  }
  const canRepair = REPAIRABLE.includes(run.state);
  const canCancel = isActive(run.state);
  const overrides = run.parameters ?? {};
  const { shown: params, perTask } = effectiveParameters(detail);
  const requester =
    run.requested_by || run.triggered_by || (run.trigger === 'schedule' ? 'scheduler' : null);

  return (
    <div
      className="awr-RunDetail-root"
      data-testid="run-detail"
      data-run-id={run.run_id}
      data-state={run.state}
    >
      <div className="awr-RunHeader">
        <div className="awr-RunHeader-title">
          <span className="awr-RunHeader-pipeline">{run.pipeline}</span>
          <span className="awr-RunHeader-sep">/</span>
          <span className="awr-RunHeader-id" title="Run id">
            {run.run_id}
          </span>
          <StateBadge state={run.state} />
        </div>
        <div className="awr-RunHeader-actions">
          {detail.report_url && (
            <a
              className="awr-Button awr-mod-link"
              data-testid="report-link"
              href={absoluteUrl(detail.report_url)}
              target="_blank"
              rel="noopener noreferrer"
              title="Open the run's report in a new browser tab"
            >
              Report ↗
            </a>
          )}
          <ActionButton
            label="Repair"
            testid="run-repair"
            title={
              canRepair
                ? 'Re-run the failed tasks and everything downstream of them'
                : 'Only a failed, timed-out or cancelled run can be repaired'
            }
            disabled={!canRepair || !!props.busy}
            busy={props.busy === 'repair'}
            onClick={props.onRepair}
          />
          <ActionButton
            label="Cancel"
            testid="run-cancel"
            warn
            title={canCancel ? 'Cancel this run' : 'The run has finished'}
            disabled={!canCancel || !!props.busy}
            busy={props.busy === 'cancel'}
            onClick={props.onCancel}
          />
          <ActionButton
            label="Trigger again"
            testid="run-trigger-again"
            icon={playIcon}
            title="Start a new manual run with the same parameters"
            disabled={!!props.busy}
            busy={props.busy === 'trigger'}
            onClick={props.onTriggerAgain}
          />
          <button
            type="button"
            className="awr-IconButton"
            title="Refresh"
            onClick={props.onRefresh}
          >
            <refreshIcon.react tag="span" />
          </button>
        </div>
      </div>
      <ErrorBanner message={props.actionError} onDismiss={props.onDismissError} />
      {props.error && (
        <div className="awr-Error awr-mod-soft" role="alert">
          <span className="awr-Error-text">Refresh failed: {props.error}</span>
        </div>
      )}
      <dl className="awr-RunMeta">
        <MetaItem label="Trigger">
          {TRIGGER_LABELS[run.trigger] ?? run.trigger}
          {run.repair_generation > 0 && (
            <span className="awr-Tag">repair {run.repair_generation}</span>
          )}
        </MetaItem>
        <MetaItem label="Triggered by">
          {run.trigger === 'after' && run.triggered_by ? (
            <button
              type="button"
              className="awr-LinkButton"
              title={`Open the upstream run ${run.triggered_by}`}
              onClick={() => props.onOpenRun(run.triggered_by!)}
            >
              run {run.triggered_by.slice(0, 8)}
            </button>
          ) : (
            <span data-testid="run-requested-by">{requester || '—'}</span>
          )}
        </MetaItem>
        {run.scheduled_for && (
          <MetaItem label="Scheduled for">
            <TimeText iso={run.scheduled_for} />
          </MetaItem>
        )}
        <MetaItem label="Created">
          <TimeText iso={run.created_at} />
        </MetaItem>
        <MetaItem label="Started">
          {run.started_at ? <TimeText iso={run.started_at} /> : '—'}
        </MetaItem>
        <MetaItem label="Finished">
          {run.finished_at ? <TimeText iso={run.finished_at} /> : '—'}
        </MetaItem>
        <MetaItem label="Duration">
          {run.started_at ? durationBetween(run.started_at, run.finished_at) : '—'}
        </MetaItem>
        <MetaItem label="Parameters" wide>
          {params.length === 0 && perTask.length === 0 ? (
            <span className="awr-muted">none</span>
          ) : (
            <span className="awr-Params" data-testid="run-parameters">
              {params.map(([k, v]) => (
                <code
                  key={k}
                  className={'awr-Param' + (k in overrides ? ' awr-mod-override' : '')}
                  data-testid="run-param"
                  data-name={k}
                  title={
                    k in overrides
                      ? 'Set for this run (overrides the pipeline)'
                      : "From the pipeline's parameters"
                  }
                >
                  {k} = {JSON.stringify(v)}
                </code>
              ))}
              {perTask.map(([task, entries]) => (
                <span key={task} className="awr-Params-task">
                  <span className="awr-muted">{task}:</span>
                  {entries.map(([k, v]) => (
                    <code key={k} className="awr-Param" title={`Set by task ${task}`}>
                      {k} = {JSON.stringify(v)}
                    </code>
                  ))}
                </span>
              ))}
            </span>
          )}
        </MetaItem>
      </dl>

      <div className="awr-SectionBar">
        <span className="awr-SectionBar-title">
          Tasks{' '}
          <span className="awr-muted">
            {detail.tasks.filter(t => t.state === 'succeeded').length}/{detail.tasks.length}{' '}
            succeeded
          </span>
        </span>
        <div className="awr-Segmented" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={props.view === 'graph'}
            data-testid="view-graph"
            className={props.view === 'graph' ? 'awr-mod-active' : ''}
            onClick={() => props.onView('graph')}
          >
            Graph
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={props.view === 'list'}
            data-testid="view-list"
            className={props.view === 'list' ? 'awr-mod-active' : ''}
            onClick={() => props.onView('list')}
          >
            List
          </button>
        </div>
      </div>
      {props.view === 'graph' && nodes.length > 0 && (
        <TaskGraph
          nodes={nodes}
          selected={props.selected}
          attemptTimes={attemptTimes}
          onSelect={props.onSelectNode}
        />
      )}
      {detail.tasks.length === 0 && nodes.length === 0 ? (
        <div className="awr-Empty awr-mod-small">This run has no tasks yet.</div>
      ) : (
        <TaskList
          nodes={nodes}
          attemptsByTask={attemptsByTask}
          outputs={detail.outputs}
          expanded={props.expanded}
          selected={props.selected}
          logs={props.logs}
          onToggle={props.onToggle}
          onLog={props.onLog}
          onHideLog={props.onHideLog}
        />
      )}

      <div className="awr-SectionBar">
        <span className="awr-SectionBar-title">Events</span>
      </div>
      <Timeline detail={detail} />
    </div>
  );
}

function MetaItem(props: {
  label: string;
  wide?: boolean;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <div className={'awr-RunMeta-item' + (props.wide ? ' awr-mod-wide' : '')}>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

function TimeText(props: { iso: string }): JSX.Element {
  return (
    <span title={absoluteTime(props.iso)}>
      {shortTime(props.iso)}{' '}
      <span className="awr-muted">
        (<RelTime iso={props.iso} />)
      </span>
    </span>
  );
}

function TaskList(props: {
  nodes: IGraphNode[];
  attemptsByTask: Map<string, IAttempt[]>;
  outputs: Record<string, Record<string, any>>;
  expanded: Set<string>;
  selected: string | null;
  logs: Map<number, ILogState>;
  onToggle: (key: string) => void;
  onLog: (a: IAttempt) => void;
  onHideLog: (a: IAttempt) => void;
}): JSX.Element {
  const rows: JSX.Element[] = [];
  const renderTask = (t: ITask, child: boolean) => (
    <TaskRow
      key={t.task_key}
      task={t}
      child={child}
      attempts={props.attemptsByTask.get(t.task_key) ?? []}
      outputs={props.outputs[t.task_key] ?? t.outputs ?? {}}
      expanded={props.expanded.has(t.task_key)}
      selected={props.selected === t.task_key}
      logs={props.logs}
      onToggle={props.onToggle}
      onLog={props.onLog}
      onHideLog={props.onHideLog}
    />
  );
  for (const n of props.nodes) {
    if (n.fanOut) {
      const open = !props.expanded.has('group:' + n.name + ':closed');
      rows.push(
        <li
          key={'group:' + n.name}
          className={'awr-TaskGroup' + (props.selected === n.name ? ' awr-mod-selected' : '')}
          data-testid="task-group"
          data-task={n.name}
          data-state={n.state}
        >
          <div
            className="awr-TaskRow-head"
            onClick={() => props.onToggle('group:' + n.name + ':closed')}
          >
            <span className={'awr-Caret' + (open ? ' awr-mod-open' : '')} />
            <span className="awr-TaskRow-name">{n.name}</span>
            <span className="awr-Tag">fan-out · {n.tasks.length} items</span>
            <StateBadge state={n.state} small />
          </div>
          {open && (
            <ul className="awr-TaskList awr-mod-nested">{n.tasks.map(t => renderTask(t, true))}</ul>
          )}
        </li>
      );
    } else if (n.tasks.length === 0) {
      rows.push(
        <li
          key={'spec:' + n.name}
          className="awr-TaskRow awr-mod-notstarted"
          data-testid="task-row"
          data-task={n.name}
          data-state="pending"
        >
          <div className="awr-TaskRow-head">
            <span className="awr-Caret awr-mod-hidden" />
            <span className="awr-TaskRow-name">{n.name}</span>
            <span className="awr-muted awr-TaskRow-info">not started</span>
            <StateBadge state="pending" small />
          </div>
        </li>
      );
    } else {
      n.tasks.forEach(t => rows.push(renderTask(t, false)));
    }
  }
  return <ul className="awr-TaskList">{rows}</ul>;
}

function TaskRow(props: {
  task: ITask;
  child: boolean;
  attempts: IAttempt[];
  outputs: Record<string, any>;
  expanded: boolean;
  selected: boolean;
  logs: Map<number, ILogState>;
  onToggle: (key: string) => void;
  onLog: (a: IAttempt) => void;
  onHideLog: (a: IAttempt) => void;
}): JSX.Element {
  const t = props.task;
  const last = props.attempts[props.attempts.length - 1];
  const outputKeys = Object.keys(props.outputs);
  return (
    <li
      className={
        'awr-TaskRow' +
        (props.selected ? ' awr-mod-selected' : '') +
        (props.expanded ? ' awr-mod-expanded' : '')
      }
      data-testid="task-row"
      data-task={t.task_key}
      data-state={t.state}
    >
      <div
        className="awr-TaskRow-head"
        role="button"
        tabIndex={0}
        aria-expanded={props.expanded}
        onClick={() => props.onToggle(t.task_key)}
        onKeyDown={e => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            props.onToggle(t.task_key);
          }
        }}
      >
        <span className={'awr-Caret' + (props.expanded ? ' awr-mod-open' : '')} />
        <span className="awr-TaskRow-name">
          {t.task_key}
          {props.child && t.item_value !== null && t.item_value !== undefined && (
            <span className="awr-muted">
              {' '}
              {typeof t.item_value === 'object'
                ? JSON.stringify(t.item_value)
                : String(t.item_value)}
            </span>
          )}
        </span>
        <span className="awr-TaskRow-info">
          {t.attempts > 0 && (
            <span title="Attempts">
              {t.attempts} attempt{t.attempts === 1 ? '' : 's'}
            </span>
          )}
          {last && (
            <span title="Duration of the last attempt">
              {durationBetween(last.started_at, last.finished_at)}
            </span>
          )}
        </span>
        {last?.report_url && (
          <a
            className="awr-Link"
            href={absoluteUrl(last.report_url)}
            target="_blank"
            rel="noopener noreferrer"
            onClick={e => e.stopPropagation()}
            title="Open the executed notebook of the last attempt"
          >
            Report ↗
          </a>
        )}
        <StateBadge state={t.state} small />
      </div>
      {t.reason && !props.expanded && (
        <div className="awr-TaskRow-reason" title={t.reason}>
          {t.reason}
        </div>
      )}
      {props.expanded && (
        <div className="awr-TaskRow-body">
          {t.reason && <div className="awr-TaskRow-reasonFull">{t.reason}</div>}
          {props.attempts.length === 0 ? (
            <div className="awr-muted">No attempts yet.</div>
          ) : (
            <table className="awr-Attempts">
              <thead>
                <tr>
                  <th>#</th>
                  <th>State</th>
                  <th>Started</th>
                  <th>Duration</th>
                  <th>Where</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {props.attempts.map(a => (
                  <AttemptRows
                    key={a.attempt_id}
                    attempt={a}
                    log={props.logs.get(a.attempt_id)}
                    onLog={props.onLog}
                    onHideLog={props.onHideLog}
                  />
                ))}
              </tbody>
            </table>
          )}
          <div className="awr-TaskRow-outputs">
            <div className="awr-Label">Outputs</div>
            {outputKeys.length === 0 ? (
              <span className="awr-muted">none</span>
            ) : (
              <JsonBlock value={props.outputs} />
            )}
          </div>
        </div>
      )}
    </li>
  );
}

function AttemptRows(props: {
  attempt: IAttempt;
  log?: ILogState;
  onLog: (a: IAttempt) => void;
  onHideLog: (a: IAttempt) => void;
}): JSX.Element {
  const a = props.attempt;
  const log = props.log;
  return (
    <>
      <tr data-testid="attempt-row" data-attempt-id={a.attempt_id} data-state={a.state}>
        <td>
          {a.number}
          {a.repair_generation > 0 && (
            <span className="awr-muted" title="Repair generation">
              {' '}
              r{a.repair_generation}
            </span>
          )}
        </td>
        <td>
          <StateBadge state={a.state} small />
        </td>
        <td title={absoluteTime(a.started_at)}>{shortTime(a.started_at)}</td>
        <td>{durationBetween(a.started_at, a.finished_at)}</td>
        <td className="awr-muted">
          {[a.executor, a.worker, a.pool && `pool ${a.pool}`].filter(Boolean).join(' · ')}
        </td>
        <td className="awr-Attempts-links">
          {a.report_url && (
            <a
              className="awr-Link"
              href={absoluteUrl(a.report_url)}
              target="_blank"
              rel="noopener noreferrer"
              data-testid="attempt-report"
            >
              Report ↗
            </a>
          )}
          <button
            type="button"
            className="awr-LinkButton"
            data-testid="attempt-log"
            onClick={() => (log ? props.onHideLog(a) : props.onLog(a))}
          >
            {log ? 'Hide log' : 'Log'}
          </button>
        </td>
      </tr>
      {attemptResources(a).length > 0 && (
        <tr className="awr-Attempts-resources">
          <td />
          <td colSpan={5}>
            <AttemptResources attempt={a} />
          </td>
        </tr>
      )}
      {a.error && (
        <tr className="awr-Attempts-error">
          <td />
          <td colSpan={5}>
            {a.failing_cell !== null && a.failing_cell !== undefined && (
              <div className="awr-Label">Failed in cell {a.failing_cell}</div>
            )}
            <pre className="awr-ErrorText">{a.error}</pre>
          </td>
        </tr>
      )}
      {log && (
        <tr className="awr-Attempts-log">
          <td colSpan={6}>
            {log.loading ? (
              <div className="awr-Loading">
                <span className="awr-Spinner" /> Loading log…
              </div>
            ) : log.error ? (
              <div className="awr-Error">
                <span className="awr-Error-text">{log.error}</span>
              </div>
            ) : (
              <>
                {log.log?.truncated && <div className="awr-muted">… earlier output cut off</div>}
                <pre className="awr-Log" data-testid="attempt-log-text">
                  {log.log?.text || '(empty log)'}
                </pre>
              </>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

function Timeline(props: { detail: IRunDetail }): JSX.Element {
  const events = [...props.detail.events].sort(
    (a, b) => a.at.localeCompare(b.at) || a.event_id - b.event_id
  );
  if (events.length === 0) {
    return <div className="awr-Empty awr-mod-small">No events yet.</div>;
  }
  return (
    <ol className="awr-Timeline" data-testid="run-events">
      {events.map(e => (
        <li key={e.event_id} className={'awr-Timeline-item awr-level-' + e.level}>
          <span className="awr-Timeline-dot" />
          <time title={absoluteTime(e.at)}>{clockTime(e.at)}</time>
          {e.task_key && <span className="awr-Tag">{e.task_key}</span>}
          <span className="awr-Timeline-msg">{e.message}</span>
        </li>
      ))}
    </ol>
  );
}

/**
 * What the run's notebooks get: with one task, that task's parameters; with several, the
 * run's (pipeline merged with the run's overrides) plus what each task sets differently.
 * Older servers send no effective parameters: the run's own overrides.
 */
function effectiveParameters(detail: IRunDetail): {
  shown: [string, any][];
  perTask: [string, [string, any][]][];
} {
  const effective = detail.effective_parameters ?? detail.run.parameters ?? {};
  const tasks = detail.task_parameters ?? {};
  const names = Object.keys(tasks);
  if (names.length === 1) {
    return { shown: Object.entries(tasks[names[0]]), perTask: [] };
  }
  const perTask: [string, [string, any][]][] = [];
  for (const name of names) {
    const differs = Object.entries(tasks[name]).filter(
      ([k, v]) => !(k in effective) || JSON.stringify(effective[k]) !== JSON.stringify(v)
    );
    if (differs.length) {
      perTask.push([name, differs]);
    }
  }
  return { shown: Object.entries(effective), perTask };
}
