/**
 * The client of the server's `quality/...` routes (see
 * workspace/server/quality_handlers.py): every shared table's health in one
 * request, a table's Quality tab, and PII reviews.
 */
import { requestAPI } from '../api';
import type { IHealthResponse, ITableQuality, PiiAction } from './qualitymodel';

const enc = encodeURIComponent;

export const quality = {
  health(init: { signal?: AbortSignal } = {}): Promise<IHealthResponse> {
    return requestAPI<IHealthResponse>('quality/health', init);
  },
  table(name: string, init: { signal?: AbortSignal } = {}): Promise<ITableQuality> {
    return requestAPI<ITableQuality>(`quality/tables/${enc(name)}`, init);
  },
  reviewPii(
    name: string,
    column: string,
    action: PiiAction
  ): Promise<{ table: string; column: string; action: PiiAction }> {
    return requestAPI(`quality/tables/${enc(name)}/pii`, {
      method: 'POST',
      body: JSON.stringify({ column, action })
    });
  }
};
