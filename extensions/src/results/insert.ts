/**
 * The `workspace:insert-cell` event's contract and its pure helpers (no Lab
 * imports, so jest can load them).
 */

/** The DOM event a widget dispatches to add a cell below its own. */
export const INSERT_CELL_EVENT = 'workspace:insert-cell';

/** What the event carries. */
export interface IInsertCellDetail {
  code: string;
  handled: boolean;
}

interface IHasNode {
  node: { contains(other: any): boolean };
}

/** Index of the item whose node contains `target`, or -1. */
export function indexContaining(items: ReadonlyArray<IHasNode>, target: unknown): number {
  return items.findIndex(item => item.node.contains(target));
}

/** Whether an event detail is a well-formed insert request. */
export function isInsertDetail(detail: unknown): detail is IInsertCellDetail {
  return (
    typeof detail === 'object' &&
    detail !== null &&
    typeof (detail as IInsertCellDetail).code === 'string' &&
    (detail as IInsertCellDetail).code.trim() !== ''
  );
}
