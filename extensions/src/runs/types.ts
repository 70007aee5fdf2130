/**
 * Payloads of the jobs and schedule routes (`workspace/api/jobs/...`,
 * `workspace/api/schedule/...`), mirroring workspace/jobs/service_models.py and
 * workspace/jobs/models.py. Datetimes are ISO 8601 strings with a UTC offset.
 */

export type RunState =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'timed_out';

export type TaskState =
  | 'pending'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'upstream_failed'
  | 'timed_out'
  | 'cancelled';

export type AttemptState =
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'lost';

/** Any state shown with a badge. */
export type AnyState = RunState | TaskState | AttemptState;

export type TriggerKind = 'schedule' | 'manual' | 'after' | 'backfill';

export interface IScheduleInfo {
  cron: string;
  timezone: string;
  catchup: string;
}

/** Who reads a pipeline's reports besides its owner, engineers and admins. */
export interface IAudience {
  groups: string[];
  users: string[];
}

export type Approval = 'pending' | 'approved';

export interface IPipelineSummary {
  name: string;
  description?: string | null;
  owner?: string | null;
  enabled: boolean;
  paused: boolean;
  registered: boolean;
  /** 'pending' review: it cannot run until an engineer or admin approves it. */
  approval?: Approval;
  approved_by?: string | null;
  approved_at?: string | null;
  promoted_by?: string | null;
  /** null: private (owner, engineers and admins only). */
  audience?: IAudience | null;
  /** The caller may trigger, pause, share and hand over this pipeline. */
  can_manage?: boolean;
  /** The caller may approve pipelines pending review (engineers, admins). */
  can_approve?: boolean;
  schedule?: IScheduleInfo | null;
  after: string[];
  next_runs: string[];
  last_run_id?: string | null;
  last_run_state?: RunState | null;
  error?: string | null;
}

export interface IPipelineList {
  pipelines: IPipelineSummary[];
}

export interface ITaskSpecInfo {
  name: string;
  notebook: string;
  depends_on: string[];
  parameters: Record<string, any>;
  run_if: any;
  for_each: boolean;
  pool?: string | null;
  retries: number;
  timeout?: number | null;
  on_failure?: string | null;
}

export interface IPipelineDetail extends IPipelineSummary {
  tasks: ITaskSpecInfo[];
  parameters: Record<string, any>;
  concurrency?: number | null;
  max_active_runs?: number | null;
}

export interface IRun {
  run_id: string;
  pipeline: string;
  scheduled_for: string | null;
  trigger: TriggerKind;
  triggered_by?: string | null;
  state: RunState;
  repair_generation: number;
  parameters: Record<string, any>;
  report_path?: string | null;
  created_at: string;
  started_at?: string | null;
  finished_at?: string | null;
  /** The pipeline's owner when the run was created. */
  owner?: string | null;
  /** Who asked for the run: a user for manual runs, 'scheduler' for ticks and `after:`. */
  requested_by?: string | null;
}

export interface IRunList {
  runs: IRun[];
  limit: number;
  offset: number;
}

export interface ITask {
  run_id: string;
  task_key: string;
  name: string;
  item_index?: number | null;
  item_value?: any;
  state: TaskState;
  attempts: number;
  outputs: Record<string, any>;
  reason?: string | null;
  updated_at: string;
}

export interface IAttempt {
  attempt_id: number;
  run_id: string;
  task_key: string;
  number: number;
  repair_generation: number;
  state: AttemptState;
  executor?: string | null;
  worker?: string | null;
  pid?: number | null;
  started_at: string;
  heartbeat_at: string;
  finished_at?: string | null;
  error?: string | null;
  failing_cell?: number | null;
  notebook_path?: string | null;
  report_path?: string | null;
  log_path?: string | null;
  pool?: string | null;
  report_url?: string | null;
  log_url?: string | null;
}

export interface IRunEvent {
  event_id: number;
  run_id: string;
  task_key?: string | null;
  at: string;
  level: string;
  message: string;
}

export interface IRunDetail {
  run: IRun;
  report_url?: string | null;
  tasks: ITask[];
  attempts: IAttempt[];
  outputs: Record<string, Record<string, any>>;
  events: IRunEvent[];
  /** The pipeline's parameters merged with the run's overrides (`run.parameters`). */
  effective_parameters?: Record<string, any>;
  /** By task name: the effective parameters with the task's own on top. */
  task_parameters?: Record<string, Record<string, any>>;
}

export interface IAttemptLog {
  attempt_id: number;
  text: string;
  truncated: boolean;
  source?: string;
}

export interface IRepairResponse {
  run: IRun;
  reset: string[];
}

export interface ICancelResponse {
  run: IRun;
  stopping: number[];
}

/* -- "Schedule this notebook" ------------------------------------------------------ */

export interface ICronPreview {
  cron: string;
  timezone: string;
  description: string;
  next: string[];
}

export interface INotebookParameter {
  name: string;
  type: string;
  default: string | null;
  help?: string | null;
}

export interface INotebookScheduleInfo {
  path: string;
  suggested_name: string;
  has_parameters_cell: boolean;
  parameters: INotebookParameter[];
  existing: boolean;
}

export interface IPromoteRequest {
  path: string;
  name: string;
  cron: string | null;
  timezone: string;
  parameters: Record<string, any>;
  force: boolean;
}

export interface IPromoteResponse {
  pipeline: string;
  folder: string;
  ok: boolean;
  message: string;
  report_url?: string | null;
  pipeline_url?: string | null;
  /** Under the hub: 'pending' until an engineer or admin approves it. */
  approval?: Approval | null;
}

/** States after which a run no longer changes by itself. */
export const ACTIVE_RUN_STATES: ReadonlyArray<string> = ['queued', 'running'];

export function isActive(state: string | null | undefined): boolean {
  return !!state && ACTIVE_RUN_STATES.includes(state);
}
