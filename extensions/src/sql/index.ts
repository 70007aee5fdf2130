/**
 * SQL cells in the Lab: `%%sql` cells highlighted as SQL, and the "Format
 * SQL" command (command palette, and the cell's context menu on `%%sql` cells).
 * Completion of tables and columns comes from the kernel (Tab), not from here.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { IEditorExtensionRegistry, IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { isSqlCell } from './cell';
import { formatSqlCell } from './format';
import { registerSqlHighlighting } from './highlight';

export { isSqlCell, joinSqlCell, splitSqlCell } from './cell';
export { formatSqlCell } from './format';
export { docIsSql, sqlLanguageSwitch } from './language';

/** Command ids. */
export namespace CommandIDs {
  export const formatSql = 'workspace:format-sql';
}

export const sqlPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:sql-cells',
  description: 'SQL highlighting of %%sql cells and the "Format SQL" command.',
  autoStart: true,
  requires: [IEditorExtensionRegistry, IEditorLanguageRegistry],
  optional: [INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    extensions: IEditorExtensionRegistry,
    languages: IEditorLanguageRegistry,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    void registerSqlHighlighting(extensions, languages);
    if (!notebooks) {
      return;
    }
    // the cell to format: from the context menu, the cell right-clicked; else the active one
    const sqlCell = (args: ReadonlyPartialJSONObject) => {
      let cell: Cell | null = notebooks.activeCell;
      if (args.fromContextMenu) {
        const node = app.contextMenuHitTest(n => n.classList.contains('jp-Cell'));
        cell = notebooks.currentWidget?.content.widgets.find(w => w.node === node) ?? cell;
      }
      return cell && cell.model.type === 'code' && isSqlCell(cell.model.sharedModel.getSource())
        ? cell
        : null;
    };
    app.commands.addCommand(CommandIDs.formatSql, {
      label: 'Format SQL',
      caption: 'Format the SQL of the %%sql cell (keywords, one clause per line)',
      isEnabled: args => sqlCell(args) !== null,
      isVisible: args => sqlCell(args) !== null,
      execute: async args => {
        const cell = sqlCell(args);
        if (!cell) {
          return;
        }
        const source = cell.model.sharedModel.getSource();
        try {
          const formatted = await formatSqlCell(source);
          // the cell may have been edited meanwhile: then leave it
          if (formatted !== null && cell.model.sharedModel.getSource() === source) {
            cell.model.sharedModel.setSource(formatted);
          }
        } catch (err) {
          Notification.error((err as Error).message, { autoClose: 8000 });
        }
      }
    });
    palette?.addItem({ command: CommandIDs.formatSql, category: 'Workspace' });
    app.contextMenu.addItem({
      command: CommandIDs.formatSql,
      args: { fromContextMenu: true },
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 12
    });
  }
};
