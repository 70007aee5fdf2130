/**
 * The catalog browser plugin: the "Catalog" sidebar panel, one table detail
 * widget per table in the main area, and the commands to insert code that
 * reads a table into a notebook.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  Notification,
  WidgetTracker
} from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { APIError } from '../api';
import { catalogIcon, tableIcon } from '../common/icons';
import { IWorkspaceRuns } from '../tokens';
import { CatalogPanel } from './browser';
import { IDetailActions, TableDetailWidget } from './detail';
import { getSnippets, insertCodeCell, rememberSnippets } from './insert';

export { CatalogPanel } from './browser';
export { TableDetailWidget } from './detail';

/** Command ids. */
export namespace CommandIDs {
  export const openCatalog = 'workspace:open-catalog';
  export const openTable = 'workspace:open-table';
  export const insertSql = 'workspace:insert-sql';
  export const insertIbis = 'workspace:insert-ibis';
  export const copyName = 'workspace:copy-table-name';
  export const refreshCatalog = 'workspace:refresh-catalog';
}

/** Id of the sidebar panel. */
export const CATALOG_PANEL_ID = 'workspace-catalog';

const TABLE_ROW_SELECTOR = '.aw-TableRow[data-name]';

/** Wait after a cell ran before refreshing the catalog (several cells: one refresh). */
const REFRESH_DELAY_MS = 800;

function detailId(name: string): string {
  return `workspace-table:${name}`;
}

export const catalogPlugin: JupyterFrontEndPlugin<void> = {
  id: '@analytics-workspace/lab:catalog',
  description: 'Browse the lake catalog: layers, tables, schema, preview, profile, snapshots.',
  autoStart: true,
  optional: [
    ILabShell,
    ILayoutRestorer,
    ICommandPalette,
    INotebookTracker,
    IWorkspaceRuns,
    IRenderMimeRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null,
    runs: IWorkspaceRuns | null,
    rendermime: IRenderMimeRegistry | null
  ) => {
    const { commands, shell } = app;
    const tracker = new WidgetTracker<MainAreaWidget<TableDetailWidget>>({
      namespace: 'workspace-table'
    });

    /** The table name of a command: its `name` arg or the right-clicked row. */
    const nameOf = (args: any): string => {
      if (args && typeof args.name === 'string' && args.name) {
        return args.name;
      }
      const node = app.contextMenuHitTest(n => n.matches?.(TABLE_ROW_SELECTOR));
      if (node?.dataset.name) {
        return node.dataset.name;
      }
      const current = tracker.currentWidget;
      if (current) {
        return current.content.tableName;
      }
      return '';
    };

    const insertSnippet = async (name: string, kind: 'sql' | 'ibis') => {
      try {
        const snippets = await getSnippets(name);
        const code = kind === 'sql' ? `%%sql\n${snippets.sql}` : snippets.ibis;
        await insertCodeCell(app, notebooks, code);
      } catch (err) {
        const message = err instanceof APIError || err instanceof Error ? err.message : String(err);
        Notification.error(`Could not insert code for ${name}: ${message}`, {
          autoClose: 6000
        });
      }
    };

    const copyName = (name: string) => {
      Clipboard.copyToSystem(name);
    };

    const openTable = (name: string): MainAreaWidget<TableDetailWidget> => {
      const existing = tracker.find(w => w.content.tableName === name);
      if (existing) {
        shell.activateById(existing.id);
        return existing;
      }
      const actions: IDetailActions = {
        insertSql: n => insertSnippet(n, 'sql'),
        insertIbis: n => insertSnippet(n, 'ibis'),
        copyName,
        openPipeline: runs ? (pipeline: string) => runs.openPipeline(pipeline) : null,
        loaded: detail => rememberSnippets(detail),
        close: () => main.dispose(),
        rendermime
      };
      const content = new TableDetailWidget(name, actions);
      const main = new MainAreaWidget({ content });
      main.id = detailId(name);
      main.title.label = name;
      main.title.caption = `Table ${name}`;
      main.title.icon = tableIcon;
      main.title.closable = true;
      main.addClass('aw-TableDetailMain');
      main.toolbar.hide();
      void tracker.add(main);
      shell.add(main, 'main');
      shell.activateById(main.id);
      return main;
    };

    const panel = new CatalogPanel({
      openTable: name => {
        void commands.execute(CommandIDs.openTable, { name });
      }
    });
    panel.id = CATALOG_PANEL_ID;
    panel.title.icon = catalogIcon;
    panel.title.caption = 'Catalog';
    panel.title.label = '';
    shell.add(panel, 'left', { rank: 150 });
    if (restorer) {
      restorer.add(panel, CATALOG_PANEL_ID);
      void restorer.restore(tracker, {
        command: CommandIDs.openTable,
        args: w => ({ name: w.content.tableName }),
        name: w => w.content.tableName
      });
    }

    // The user's own writes (ws.write, %%sql in a notebook) change the catalog: refresh
    // the visible panel after a cell ran (debounced), and when the window gets focus
    // again. The server answers from the catalogs' current snapshots, so a refresh is cheap.
    let pending: number | undefined;
    const refreshSoon = () => {
      if (!panel.isVisible) {
        return; // showing the panel refreshes it
      }
      window.clearTimeout(pending);
      pending = window.setTimeout(() => panel.refresh(), REFRESH_DELAY_MS);
    };
    NotebookActions.executed.connect(refreshSoon);
    window.addEventListener('focus', refreshSoon);

    // highlight the table whose detail is the current main-area widget
    if (labShell) {
      labShell.currentChanged.connect(() => {
        const current = labShell.currentWidget;
        const match = tracker.find(w => w === current);
        panel.selected = match ? match.content.tableName : null;
      });
    }

    commands.addCommand(CommandIDs.openCatalog, {
      label: 'Open the Catalog',
      caption: 'Show the catalog browser in the left sidebar',
      icon: catalogIcon,
      execute: () => {
        shell.activateById(CATALOG_PANEL_ID);
        panel.focusSearch();
      }
    });

    commands.addCommand(CommandIDs.refreshCatalog, {
      label: 'Refresh the Catalog',
      execute: () => {
        panel.refresh();
        tracker.forEach(w => w.content.refresh());
      }
    });

    commands.addCommand(CommandIDs.openTable, {
      label: args => (args.name ? `Open Table ${args.name}` : 'Open Table'),
      caption: 'Show the schema, preview, profile and history of a table',
      icon: tableIcon,
      execute: async args => {
        let name = nameOf(args);
        if (!name) {
          // from the palette without a name: ask for one
          const result = await InputDialog.getText({
            title: 'Open Table',
            placeholder: 'bronze.orders'
          });
          if (!result.button.accept || !result.value) {
            return;
          }
          name = result.value.trim();
        }
        return openTable(name);
      }
    });

    commands.addCommand(CommandIDs.insertSql, {
      label: args => (args.name ? `Insert SQL Cell for ${args.name}` : 'Insert SQL Cell'),
      caption: 'Insert a %%sql cell reading the table into the current notebook',
      isEnabled: args => !!nameOf(args),
      execute: args => insertSnippet(nameOf(args), 'sql')
    });

    commands.addCommand(CommandIDs.insertIbis, {
      label: args => (args.name ? `Insert Ibis Code for ${args.name}` : 'Insert Ibis Code'),
      caption: 'Insert Python code reading the table with ibis into the current notebook',
      isEnabled: args => !!nameOf(args),
      execute: args => insertSnippet(nameOf(args), 'ibis')
    });

    commands.addCommand(CommandIDs.copyName, {
      label: args => (args.name ? `Copy Table Name ${args.name}` : 'Copy Table Name'),
      caption: 'Copy the table name to the clipboard',
      isEnabled: args => !!nameOf(args),
      execute: args => {
        const name = nameOf(args);
        copyName(name);
        Notification.info(`Copied "${name}"`, { autoClose: 1500 });
      }
    });

    // context menu of table rows (tree and search results)
    app.contextMenu.addItem({
      command: CommandIDs.openTable,
      selector: TABLE_ROW_SELECTOR,
      rank: 0
    });
    app.contextMenu.addItem({
      type: 'separator',
      selector: TABLE_ROW_SELECTOR,
      rank: 1
    });
    app.contextMenu.addItem({
      command: CommandIDs.insertSql,
      selector: TABLE_ROW_SELECTOR,
      rank: 2
    });
    app.contextMenu.addItem({
      command: CommandIDs.insertIbis,
      selector: TABLE_ROW_SELECTOR,
      rank: 3
    });
    app.contextMenu.addItem({
      command: CommandIDs.copyName,
      selector: TABLE_ROW_SELECTOR,
      rank: 4
    });

    if (palette) {
      const category = 'Analytics Workspace';
      for (const command of [
        CommandIDs.openCatalog,
        CommandIDs.refreshCatalog,
        CommandIDs.openTable,
        CommandIDs.insertSql,
        CommandIDs.insertIbis,
        CommandIDs.copyName
      ]) {
        palette.addItem({ command, category });
      }
    }
  }
};
