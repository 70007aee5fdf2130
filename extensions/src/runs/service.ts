/**
 * The `IWorkspaceRuns` service of the runs plugin: the "runs changed" signal and
 * opening runs and pipelines through the plugin's commands.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Signal } from '@lumino/signaling';

import { IWorkspaceRuns, SharedCommandIDs } from '../tokens';

export class WorkspaceRuns implements IWorkspaceRuns {
  constructor(private _commands: JupyterFrontEnd['commands']) {}

  get runsChanged(): Signal<IWorkspaceRuns, string> {
    return this._runsChanged;
  }

  notifyRunsChanged(key: string): void {
    this._runsChanged.emit(key);
  }

  openRun(runId: string): void {
    void this._commands.execute(SharedCommandIDs.openRun, { runId });
  }

  openPipeline(name?: string | null): void {
    void this._commands.execute(SharedCommandIDs.openRuns, name ? { pipeline: name } : {});
  }

  private _runsChanged = new Signal<IWorkspaceRuns, string>(this);
}
