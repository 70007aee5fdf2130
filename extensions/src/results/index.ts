/**
 * Results in notebooks: lets a widget in a cell's output (the chart builder of
 * `%%sql` results, workspace/sql/chart_builder.py) insert code as a new cell
 * below that cell.
 *
 * The widget dispatches a bubbling `workspace:insert-cell` DOM event with
 * `{code, handled}`; this plugin finds the notebook and the cell whose output
 * holds the widget, inserts a code cell below it with the code, and sets
 * `handled` so the widget does not fall back to the clipboard.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { INSERT_CELL_EVENT, indexContaining, isInsertDetail } from './insert';

export { INSERT_CELL_EVENT, IInsertCellDetail } from './insert';

export const resultsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:results',
  description:
    'Lets widgets in notebook outputs (the chart builder) insert their code as a cell below.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    document.addEventListener(INSERT_CELL_EVENT, (event: Event) => {
      const detail = (event as CustomEvent<unknown>).detail;
      if (!isInsertDetail(detail)) {
        return;
      }
      const panels: NotebookPanel[] = [];
      tracker.forEach(panel => panels.push(panel));
      const panel = panels[indexContaining(panels, event.target)];
      if (!panel) {
        return;
      }
      const notebook = panel.content;
      const index = indexContaining(notebook.widgets, event.target);
      if (index < 0) {
        return;
      }
      notebook.activeCellIndex = index;
      NotebookActions.insertBelow(notebook);
      notebook.activeCell?.model.sharedModel.setSource(detail.code);
      detail.handled = true;
    });
  }
};

export default resultsPlugin;
