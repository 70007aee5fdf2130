/**
 * "Schedule this notebook": a notebook toolbar button and the command
 * `workspace:schedule-notebook`, which open the scheduling form.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { clockIcon } from '../common/icons';
import { IWorkspaceRuns } from '../tokens';
import { ScheduleDialog, ScheduleFormWidget } from './form';

export const SCHEDULE_COMMAND = 'workspace:schedule-notebook';

/** Open the scheduling dialog for a notebook. */
export async function scheduleNotebook(
  panel: NotebookPanel,
  runs: IWorkspaceRuns | null
): Promise<void> {
  const context = panel.context;
  await context.ready;
  const path = (context as any).localPath ?? context.path;
  let dialog: ScheduleDialog | null = null;
  const form = new ScheduleFormWidget({
    path,
    prepare: async () => {
      if (context.model.dirty && !context.model.readOnly) {
        await context.save();
      }
    },
    close: () => dialog?.reject(),
    openPipeline: name => {
      dialog?.reject();
      runs?.openPipeline(name);
    },
    scheduled: name => runs?.notifyRunsChanged(name)
  });
  dialog = new ScheduleDialog({
    title: `Schedule ${panel.title.label || 'notebook'}`,
    body: form,
    buttons: [],
    focusNodeSelector: '[data-testid="schedule-name"]',
    form
  });
  await dialog.launch();
}

/** Adds the "Schedule" button to every notebook's toolbar. */
class ScheduleButtonExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(private _runs: IWorkspaceRuns | null) {}

  createNew(panel: NotebookPanel): ToolbarButton {
    const button = new ToolbarButton({
      icon: clockIcon,
      label: 'Schedule',
      tooltip: 'Schedule this notebook: test-run it, then run it as a pipeline on a cron schedule',
      dataset: { testid: 'schedule-notebook' },
      onClick: () => void scheduleNotebook(panel, this._runs)
    });
    button.addClass('aws-ToolbarButton');
    const toolbar = panel.toolbar;
    if (
      !toolbar.insertAfter('cellType', 'workspace-schedule', button) &&
      !toolbar.insertBefore('spacer', 'workspace-schedule', button)
    ) {
      toolbar.addItem('workspace-schedule', button);
    }
    return button;
  }
}

const schedulePlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:schedule',
  description: 'Schedule this notebook: turn a notebook into a scheduled pipeline.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, IWorkspaceRuns],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    runs: IWorkspaceRuns | null
  ) => {
    const current = (): NotebookPanel | null => tracker.currentWidget;
    app.commands.addCommand(SCHEDULE_COMMAND, {
      label: 'Schedule Notebook…',
      caption: 'Test-run this notebook, then run it as a pipeline on a cron schedule',
      icon: args => (args.isPalette ? undefined : clockIcon),
      isEnabled: () => current() !== null,
      execute: () => {
        const panel = current();
        if (panel) {
          return scheduleNotebook(panel, runs);
        }
      }
    });
    tracker.currentChanged.connect(() => app.commands.notifyCommandChanged(SCHEDULE_COMMAND));
    app.docRegistry.addWidgetExtension('Notebook', new ScheduleButtonExtension(runs));
    app.contextMenu.addItem({
      command: SCHEDULE_COMMAND,
      selector: '.jp-Notebook',
      rank: 90
    });
    if (palette) {
      palette.addItem({ command: SCHEDULE_COMMAND, category: 'Analytics Workspace' });
    }
  }
};

export default [schedulePlugin] as JupyterFrontEndPlugin<void>[];
