/**
 * Switches a cell editor's language to SQL while its first line is `%%sql`.
 *
 * The editor keeps the notebook's language (IPython) in JupyterLab's own
 * configuration; this extension adds, in a compartment of its own, the SQL
 * language support at the highest precedence when the cell is a `%%sql` cell,
 * and reconfigures that compartment whenever an edit turns the cell into one
 * or back (the CodeMirror pattern "automatic language detection": a
 * transaction extender, so no extra transaction is dispatched).
 *
 * Only `@codemirror/state` is used here, so it runs (and is tested) without a
 * DOM; `highlight.ts` adds the part that waits for the SQL language to load.
 */
import { Compartment, EditorState, Extension, Prec, Text } from '@codemirror/state';

import { isSqlCell } from './cell';

/** Characters read to decide whether a document is a `%%sql` cell. */
const HEAD = 200;

/** Whether a CodeMirror document is a `%%sql` cell. */
export function docIsSql(doc: Text): boolean {
  return isSqlCell(doc.sliceString(0, Math.min(HEAD, doc.length)));
}

/** The pieces of the switch, shared with the view plugin that loads SQL late. */
export interface ISqlSwitch {
  /** The compartment holding the SQL language (or nothing). */
  compartment: Compartment;
  /** Its content for a document: SQL at the highest precedence, or nothing. */
  contentFor(doc: Text): Extension;
  /** The extensions to add to the editor. */
  extension: Extension;
}

/**
 * The language switch of one editor.
 *
 * @param sql - the SQL language support, or `null` while it is not loaded yet
 *   (the compartment then stays empty until the next change of kind, or until
 *   `highlight.ts` reconfigures it once loaded).
 * @param initial - the editor's document when it is created.
 */
export function sqlLanguageSwitch(sql: () => Extension | null, initial: Text): ISqlSwitch {
  const compartment = new Compartment();
  const contentFor = (doc: Text): Extension => {
    const support = sql();
    return support && docIsSql(doc) ? Prec.highest(support) : [];
  };
  const extender = EditorState.transactionExtender.of(tr => {
    if (!tr.docChanged) {
      return null;
    }
    const was = docIsSql(tr.startState.doc);
    const now = docIsSql(tr.newDoc);
    if (was === now) {
      return null;
    }
    return { effects: compartment.reconfigure(contentFor(tr.newDoc)) };
  });
  return {
    compartment,
    contentFor,
    extension: [compartment.of(contentFor(initial)), extender]
  };
}
