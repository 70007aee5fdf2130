/**
 * What the plugins of this extension share: the `IWorkspaceRuns` service (provided
 * by the runs plugin, optional for the others) and the ids of the commands that
 * more than one plugin uses.
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** Command ids used across plugins (each declared only here). */
export namespace SharedCommandIDs {
  /** Show the Pipelines panel; `{pipeline}` selects a pipeline. */
  export const openRuns = 'workspace:open-runs';
  /** Open the detail of a run; `{runId}`. */
  export const openRun = 'workspace:open-run';
}

/** Pipelines and runs, as the other plugins see them. */
export interface IWorkspaceRuns {
  /**
   * Emitted after this browser changed a pipeline or run (trigger, pause, repair,
   * cancel, a new scheduled notebook), with a key naming what changed, so every
   * view refreshes at once instead of at its next poll.
   */
  readonly runsChanged: ISignal<IWorkspaceRuns, string>;
  /** Say that something changed (emits `runsChanged`). */
  notifyRunsChanged(key: string): void;
  /** Open the detail of a run in the main area. */
  openRun(runId: string): void;
  /** Show the Pipelines panel, with `name` selected when given. */
  openPipeline(name?: string | null): void;
}

export const IWorkspaceRuns = new Token<IWorkspaceRuns>(
  '@analytics-workspace/lab:IWorkspaceRuns',
  'Pipelines and runs: a signal when this browser changed one, and opening a run or a pipeline.'
);
