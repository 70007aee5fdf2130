/**
 * Pure helpers of the catalog's table rows and search results: the layer prefix
 * of a name, the tooltip, what a search matched, personal-data tags.
 */
import type { ITableItem } from '../api';

/** `bronze.orders` -> `{prefix: 'bronze.', short: 'orders'}`; no dot: no prefix. */
export function splitTableName(name: string): { prefix: string; short: string } {
  const dot = name.indexOf('.');
  return dot >= 0
    ? { prefix: name.slice(0, dot + 1), short: name.slice(dot + 1) }
    : { prefix: '', short: name };
}

/** The tooltip of a table row: name, description, owner and tags, one per line. */
export function tableTooltip(
  item: Pick<ITableItem, 'name' | 'description' | 'owner' | 'tags'>
): string {
  return [
    item.name,
    item.description || 'No description',
    item.owner ? `Owner: ${item.owner}` : '',
    item.tags && item.tags.length ? `Tags: ${item.tags.join(', ')}` : ''
  ]
    .filter(Boolean)
    .join('\n');
}

/** Where a search matched (`name`, `column c_phone`, `tag pii`...), empty ones dropped. */
export function matchedLabels(item: Pick<ITableItem, 'matched'>): string[] {
  return (item.matched || []).filter(Boolean);
}

/** True when the table is tagged `pii` (any case). */
export function hasPii(item: Pick<ITableItem, 'tags'>): boolean {
  return (item.tags || []).some(t => t.toLowerCase() === 'pii');
}
