/**
 * The payloads of the server routes, as TypeScript types.
 *
 * Every type here is an alias of a schema of `schema.d.ts`, which is generated
 * from workspace/server/openapi.yaml by `jlpm gen:api` (openapi-typescript):
 * never copy a pydantic model by hand, regenerate instead.
 */
import type { components } from './schema';

/** The JSON schemas of the OpenAPI document, by name. */
export type Schemas = components['schemas'];

/* -- catalog ---------------------------------------------------------------------- */

export type Classification = 'public' | 'internal' | 'confidential' | 'restricted';
export type ILayer = Schemas['LayerInfo'];
export type ILayersResponse = Schemas['LayersResponse'];
export type ITableItem = Schemas['TableItem'];
export type ITablesResponse = Schemas['CatalogPage'];
export type IColumn = Schemas['ColumnInfo'];
export type ISnapshot = Schemas['Snapshot'];
export type IWriter = Schemas['Writer'];
export type ITableDetail = Schemas['TableDetail'];
export type IPreviewResponse = Schemas['TablePreview'];
export type IHistogramBin = Schemas['HistogramBin'];
export type IColumnProfile = Schemas['ColumnProfile'];
export type ITableProfile = Schemas['TableProfile'];

/* -- jobs --------------------------------------------------------------------------- */

export type RunState = Schemas['RunState'];
export type TaskState = Schemas['TaskState'];
export type AttemptState = Schemas['AttemptState'];
/** Any state shown with a badge. */
export type AnyState = RunState | TaskState | AttemptState;
export type TriggerKind = Schemas['Trigger'];
export type IScheduleInfo = Schemas['ScheduleInfo'];
export type IAudience = Schemas['Audience'];
export type Approval = NonNullable<Schemas['PipelineSummary']['approval']>;
export type IPipelineSummary = Schemas['PipelineSummary'];
export type IPipelineList = Schemas['PipelineList'];
export type ITaskSpecInfo = Schemas['TaskSpecInfo'];
export type IPipelineDetail = Schemas['PipelineDetail'];
export type IRun = Schemas['Run'];
export type IRunList = Schemas['RunList'];
export type ITask = Schemas['Task'];
export type IAttempt = Schemas['AttemptInfo'];
export type IRunEvent = Schemas['RunEvent'];
export type IRunDetail = Schemas['RunDetailResponse'];
export type IAttemptLog = Schemas['AttemptLog'];
export type IRepairResponse = Schemas['RepairResponse'];
export type ICancelResponse = Schemas['CancelResponse'];

/* -- "Schedule this notebook" -------------------------------------------------------- */

export type ICronPreview = Schemas['CronPreview'];
export type INotebookParameter = Schemas['NotebookParameter'];
export type IDeclaredParameter = Schemas['DeclaredParameter'];
export type INotebookScheduleInfo = Schemas['NotebookInfo'];
export type IPromoteRequest = Schemas['PromoteRequest'];
export type IPromoteResponse = Schemas['PromoteResponse'];

/** States after which a run no longer changes by itself. */
export const ACTIVE_RUN_STATES: ReadonlyArray<string> = ['queued', 'running'];

/** True while a run (or pipeline's last run) is queued or running. */
export function isActive(state: string | null | undefined): boolean {
  return !!state && ACTIVE_RUN_STATES.includes(state);
}
