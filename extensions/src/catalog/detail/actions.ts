/**
 * What a table detail can ask of the application (insert code, open a pipeline...).
 */
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
}
