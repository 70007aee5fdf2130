/**
 * What a table detail can ask of the application (insert code, open a pipeline...).
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { ITableDetail } from '../../api';

/** What the detail can ask of the application. */
export interface IDetailActions {
  insertSql(name: string): Promise<void>;
  insertIbis(name: string): Promise<void>;
  copyName(name: string): void;
  /** Open the runs of a pipeline; null when the runs panel is not installed. */
  openPipeline: ((pipeline: string) => void) | null;
  /** The detail was loaded (e.g. to cache its snippets). */
  loaded(detail: ITableDetail): void;
  /** Close this detail. */
  close(): void;
  /** The Lab's renderers (the Quality tab's Vega-Lite charts); null without them. */
  rendermime?: IRenderMimeRegistry | null;
}
