/**
 * Put a code snippet into a notebook: below the active cell of the current
 * notebook, or into a new notebook on the "workspace" kernel.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';

import { ITableDetail, catalog } from '../api';

/** The kernel spec the workspace installs ("Python (workspace)"). */
export const WORKSPACE_KERNEL = 'workspace';

const snippetCache = new Map<string, ITableDetail['snippets']>();

/** Remember the snippets of a detail already fetched (saves a request). */
export function rememberSnippets(detail: ITableDetail): void {
  if (detail.snippets) {
    snippetCache.set(detail.name, detail.snippets);
  }
}

/** The snippets of a table, from the cache or `GET catalog/tables/{name}`. */
export async function getSnippets(name: string): Promise<ITableDetail['snippets']> {
  const cached = snippetCache.get(name);
  if (cached) {
    return cached;
  }
  const detail = await catalog.table(name);
  rememberSnippets(detail);
  return detail.snippets;
}

async function newWorkspaceNotebook(app: JupyterFrontEnd): Promise<NotebookPanel> {
  const commands = app.commands;
  let widget: any;
  if (commands.hasCommand('notebook:create-new')) {
    widget = await commands.execute('notebook:create-new', {
      kernelName: WORKSPACE_KERNEL
    });
  } else {
    const model: any = await commands.execute('docmanager:new-untitled', {
      path: '',
      type: 'notebook'
    });
    widget = await commands.execute('docmanager:open', {
      path: model.path,
      factory: 'Notebook',
      kernel: { name: WORKSPACE_KERNEL }
    });
  }
  if (!(widget instanceof NotebookPanel)) {
    throw new Error('Could not create a notebook to insert the code into.');
  }
  await widget.context.ready;
  return widget;
}

/**
 * Insert `code` as a code cell below the active cell of the current
 * notebook (a new "workspace" notebook when none is open) and select it.
 */
export async function insertCodeCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker | null,
  code: string
): Promise<NotebookPanel> {
  let panel: NotebookPanel | null = tracker?.currentWidget ?? null;
  if (panel && panel.isDisposed) {
    panel = null;
  }
  if (!panel) {
    panel = await newWorkspaceNotebook(app);
  } else {
    await panel.context.ready;
  }
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const cells = notebook.model?.cells;
  const only = cells && cells.length === 1 ? cells.get(0) : null;
  const reuseEmpty = !!only && only.type === 'code' && only.sharedModel.getSource().trim() === '';
  if (reuseEmpty) {
    notebook.activeCellIndex = 0;
  } else {
    if (notebook.activeCellIndex < 0 && cells && cells.length > 0) {
      notebook.activeCellIndex = cells.length - 1;
    }
    NotebookActions.insertBelow(notebook);
  }
  if (notebook.activeCell && notebook.activeCell.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  const cell = notebook.activeCell;
  if (cell) {
    cell.model.sharedModel.setSource(code);
    notebook.deselectAll();
    notebook.mode = 'command';
    void notebook.scrollToItem(notebook.activeCellIndex, 'smart');
    cell.node.focus();
  }
  return panel;
}
