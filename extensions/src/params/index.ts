/**
 * Widget parameters in the Lab: "run on change". A parameter declared with
 * `run_on_change=True` (or a bar under `params.run_on_change()`) asks, through a custom
 * message of the parameter bar's widget, to re-run the cells below the parameters cell;
 * the kernel cannot run notebook cells, so this plugin finds the cell whose output holds
 * the bar and runs the cells after it (the selection stays where it is).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { cellHoldingWidget, rerunModelId } from './rerun';

export { RERUN_EVENT, cellHoldingWidget, rerunModelId } from './rerun';

/** Run the cells below the cell that shows widget `modelId` in `panel`; false if none does. */
export function runBelowWidget(panel: NotebookPanel, modelId: string): boolean {
  const notebook = panel.content;
  const outputs = notebook.widgets.map(cell =>
    cell.model.type === 'code' ? ((cell.model as ICodeCellModel).outputs.toJSON() as any[]) : []
  );
  const index = cellHoldingWidget(outputs, modelId);
  if (index < 0) {
    return false;
  }
  const below = notebook.widgets.slice(index + 1);
  if (below.length > 0) {
    void NotebookActions.runCells(notebook, below, panel.sessionContext);
  }
  return true;
}

export const paramsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:params',
  description:
    'Widget parameters: re-run the cells below the parameter bar when a control changes.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    // one listener per session: two views of a notebook share it and must not run it twice
    const listening = new WeakSet<object>();
    tracker.widgetAdded.connect((_, added) => {
      const session = added.sessionContext;
      if (listening.has(session)) {
        return;
      }
      listening.add(session);
      session.iopubMessage.connect((_, msg) => {
        const modelId = rerunModelId(msg as any);
        const panel = tracker.find(p => p.sessionContext === session && !p.isDisposed);
        if (modelId !== null && panel) {
          runBelowWidget(panel, modelId);
        }
      });
    });
  }
};
