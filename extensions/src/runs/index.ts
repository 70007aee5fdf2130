/**
 * Pipelines and runs: the "Pipelines" sidebar panel and one main-area detail per run.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';

import { stateLabel } from '../common/format';
import { pipelinesIcon } from '../common/icons';
import { IWorkspaceRuns, SharedCommandIDs } from '../tokens';
import { RunDetailWidget } from './detail';
import { RunsPanel } from './panel';
import { WorkspaceRuns } from './service';

export namespace CommandIDs {
  export const openRuns = SharedCommandIDs.openRuns;
  export const openRun = SharedCommandIDs.openRun;
  export const refreshRuns = 'workspace:refresh-runs';
}

/** The first 8 characters of a long run id (tab titles). */
function shortId(runId: string): string {
  return runId.length > 12 ? runId.slice(0, 8) : runId;
}

export const PALETTE_CATEGORY = 'Analytics Workspace';

const runsPlugin: JupyterFrontEndPlugin<IWorkspaceRuns> = {
  id: '@analytics-workspace/lab:runs',
  description: 'The Pipelines panel: scheduled pipelines, their runs and run details.',
  autoStart: true,
  provides: IWorkspaceRuns,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): IWorkspaceRuns => {
    const { commands, shell } = app;
    const runs = new WorkspaceRuns(commands);
    const tracker = new WidgetTracker<MainAreaWidget<RunDetailWidget>>({
      namespace: 'workspace-run'
    });
    const openRun = (runId: string): MainAreaWidget<RunDetailWidget> => {
      const existing = tracker.find(w => w.content.runId === runId);
      if (existing) {
        shell.activateById(existing.id);
        void existing.content.refresh();
        return existing;
      }
      const content = new RunDetailWidget({ runId, runs });
      const widget = new MainAreaWidget({ content });
      widget.id = 'workspace-run-' + runId.replace(/[^A-Za-z0-9_-]/g, '_');
      widget.addClass('awr-RunDetailArea');
      widget.title.label = `Run ${shortId(runId)}`;
      widget.title.icon = pipelinesIcon;
      widget.title.closable = true;
      content.stateChanged.connect((_, run) => {
        widget.title.label = `${run.pipeline} · ${shortId(run.run_id)}`;
        widget.title.caption = `Run ${run.run_id} of ${run.pipeline}: ${stateLabel(run.state)}`;
        void tracker.save(widget);
      });
      void tracker.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      return widget;
    };

    const panel = new RunsPanel({ runs });
    shell.add(panel, 'left', { rank: 310 });
    if (restorer) {
      restorer.add(panel, panel.id);
      void restorer.restore(tracker, {
        command: CommandIDs.openRun,
        args: w => ({ runId: w.content.runId }),
        name: w => w.content.runId
      });
    }

    commands.addCommand(CommandIDs.openRuns, {
      label: args => (args.pipeline ? `Open Pipeline ${args.pipeline}` : 'Open Pipelines'),
      caption: 'Show the scheduled pipelines and their runs',
      icon: args => (args.isPalette ? undefined : pipelinesIcon),
      execute: args => {
        shell.activateById(panel.id);
        const pipeline = args.pipeline as string | undefined;
        if (pipeline) {
          panel.select(pipeline);
        } else {
          void panel.refresh();
        }
      }
    });
    commands.addCommand(CommandIDs.openRun, {
      label: args => (args.runId ? `Open Run ${args.runId}` : 'Open Run…'),
      caption: 'Show a pipeline run: tasks, attempts, reports and logs',
      execute: async args => {
        let runId = args.runId as string | undefined;
        if (!runId) {
          const result = await InputDialog.getText({
            title: 'Open run',
            label: 'Run id',
            placeholder: 'e.g. 20250301T060000-demo_refresh'
          });
          runId = result.button.accept ? (result.value ?? '').trim() : '';
        }
        if (runId) {
          return openRun(runId);
        }
      }
    });
    commands.addCommand(CommandIDs.refreshRuns, {
      label: 'Refresh Pipelines',
      execute: () => panel.refresh()
    });

    if (palette) {
      palette.addItem({ command: CommandIDs.openRuns, category: PALETTE_CATEGORY });
      palette.addItem({ command: CommandIDs.openRun, category: PALETTE_CATEGORY });
      palette.addItem({ command: CommandIDs.refreshRuns, category: PALETTE_CATEGORY });
    }
    return runs;
  }
};

export default [runsPlugin] as JupyterFrontEndPlugin<any>[];
