/**
 * The editor extension that highlights `%%sql` cells as SQL (DuckDB is closest
 * to the PostgreSQL dialect of `@codemirror/lang-sql`, which JupyterLab ships
 * and loads on demand through its language registry).
 */
import { Extension, Text } from '@codemirror/state';
import { EditorView, ViewPlugin } from '@codemirror/view';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry,
  IEditorLanguageRegistry
} from '@jupyterlab/codemirror';

import { sqlLanguageSwitch } from './language';

/** The language registry's name of the SQL dialect used. */
export const SQL_LANGUAGE = 'PostgreSQL';

/**
 * Editors that never hold a `%%sql` cell. Code cells are not tested for
 * `text/x-ipython`: a new notebook's cells get that type only once the kernel
 * has told its language, after their editors were made.
 */
const NOT_CODE_MIMES = new Set(['text/x-ipythongfm', 'text/markdown', 'text/x-markdown']);

/**
 * Register the extension with the editors of IPython cells.
 *
 * @returns a promise resolved once the SQL language is loaded.
 */
export function registerSqlHighlighting(
  extensions: IEditorExtensionRegistry,
  languages: IEditorLanguageRegistry
): Promise<void> {
  let support: Extension | null = null;
  const ready = languages
    .getLanguage(SQL_LANGUAGE)
    .then(language => {
      support = language?.support ?? null;
    })
    .catch(reason => {
      console.warn('workspace: SQL highlighting unavailable', reason);
    });
  extensions.addExtension({
    name: 'analytics-workspace:sql-cells',
    factory: options => {
      if (NOT_CODE_MIMES.has(options.model.mimeType)) {
        return null;
      }
      const initial = Text.of(options.model.sharedModel.getSource().split('\n'));
      const sqlSwitch = sqlLanguageSwitch(() => support, initial);
      // an editor made before the language loaded: switch once it has
      const late = ViewPlugin.define((view: EditorView) => {
        let alive = true;
        if (support === null) {
          void ready.then(() => {
            if (alive && support !== null) {
              view.dispatch({
                effects: sqlSwitch.compartment.reconfigure(sqlSwitch.contentFor(view.state.doc))
              });
            }
          });
        }
        return {
          destroy: () => {
            alive = false;
          }
        };
      });
      return EditorExtensionRegistry.createImmutableExtension([sqlSwitch.extension, late]);
    }
  });
  return ready;
}
