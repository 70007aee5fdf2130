/**
 * The state of the scheduling form and its reducer (a pure function, unit-tested):
 * loading the notebook's parameters, the fields, the live cron preview, and the
 * promotion's phase and result.
 */
import { APIError, IFieldError, errorMessage } from '../api/errors';
import type { ICronPreview, INotebookScheduleInfo, IPromoteResponse } from '../api/types';
import { DEFAULT_CRON, EMPTY_CRON_MESSAGE } from './cron';
import { ParamValue, initialValues } from './params';

/** form: editing; running: the promotion (test run) is on; done: it answered. */
export type Phase = 'form' | 'running' | 'done';

/** What the promotion answered. */
export interface IResult {
  ok: boolean;
  /** The pipeline exists (409): the form offers to replace it. */
  conflict?: boolean;
  message: string;
  pipeline?: string;
  reportUrl?: string | null;
  /** 'pending': it waits for an engineer's approval before it can run. */
  approval?: string | null;
  fieldErrors?: IFieldError[];
}

export interface IFormState {
  /** The notebook's parameters; null while loading. */
  info: INotebookScheduleInfo | null;
  loadError: string | null;
  name: string;
  cron: string;
  timezone: string;
  values: Record<string, ParamValue>;
  preview: ICronPreview | null;
  previewError: string | null;
  previewLoading: boolean;
  phase: Phase;
  result: IResult | null;
  /** Seconds since the promotion started. */
  elapsed: number;
  /** The user left the name field or submitted (its errors show). */
  touched: boolean;
}

export type FormAction =
  | { type: 'load' }
  | { type: 'loaded'; info: INotebookScheduleInfo }
  | { type: 'loadFailed'; message: string }
  | { type: 'setName'; name: string }
  | { type: 'touch' }
  | { type: 'setCron'; cron: string }
  | { type: 'setTimezone'; timezone: string }
  | { type: 'setValue'; name: string; value: ParamValue }
  | { type: 'previewEmpty' }
  | { type: 'previewStart' }
  | { type: 'previewDone'; preview: ICronPreview }
  | { type: 'previewFailed'; message: string }
  | { type: 'submit' }
  | { type: 'promoted'; response: IPromoteResponse }
  | { type: 'promoteFailed'; error: unknown }
  | { type: 'editAgain' }
  | { type: 'tick'; elapsed: number };

export function initialState(timezone: string): IFormState {
  return {
    info: null,
    loadError: null,
    name: '',
    cron: DEFAULT_CRON,
    timezone,
    values: {},
    preview: null,
    previewError: null,
    previewLoading: false,
    phase: 'form',
    result: null,
    elapsed: 0,
    touched: false
  };
}

/**
 * The result of a failed promotion: a conflict (409) offers to replace the pipeline;
 * a failed test run carries its report's URL; invalid fields their messages.
 */
export function failureResult(error: unknown): IResult {
  const api = error instanceof APIError ? error : null;
  return {
    ok: false,
    conflict: api?.status === 409,
    message: errorMessage(error),
    reportUrl: api?.body?.report_url ?? null,
    fieldErrors: api?.errors ?? []
  };
}

/** The phase after a failure: back to the form when the user can fix it there. */
export function phaseAfterFailure(result: IResult): Phase {
  return result.conflict || (result.fieldErrors?.length ?? 0) > 0 ? 'form' : 'done';
}

export function formReducer(state: IFormState, action: FormAction): IFormState {
  switch (action.type) {
    case 'load':
      return { ...state, info: null, loadError: null };
    case 'loaded':
      return {
        ...state,
        info: action.info,
        name: action.info.suggested_name,
        values: initialValues(action.info.parameters, action.info.declared)
      };
    case 'loadFailed':
      return { ...state, loadError: action.message };
    case 'setName':
      return { ...state, name: action.name };
    case 'touch':
      return state.touched ? state : { ...state, touched: true };
    case 'setCron':
      return { ...state, cron: action.cron };
    case 'setTimezone':
      return { ...state, timezone: action.timezone };
    case 'setValue':
      return { ...state, values: { ...state.values, [action.name]: action.value } };
    case 'previewEmpty':
      return { ...state, preview: null, previewError: EMPTY_CRON_MESSAGE };
    case 'previewStart':
      return { ...state, previewLoading: true };
    case 'previewDone':
      return { ...state, preview: action.preview, previewError: null, previewLoading: false };
    case 'previewFailed':
      return { ...state, preview: null, previewError: action.message, previewLoading: false };
    case 'submit':
      return { ...state, result: null, phase: 'running' };
    case 'promoted':
      return {
        ...state,
        phase: 'done',
        result: {
          ok: true,
          message: action.response.message,
          pipeline: action.response.pipeline,
          reportUrl: action.response.report_url,
          approval: action.response.approval ?? null
        }
      };
    case 'promoteFailed': {
      const result = failureResult(action.error);
      return { ...state, result, phase: phaseAfterFailure(result) };
    }
    case 'editAgain':
      return { ...state, result: null, phase: 'form' };
    case 'tick':
      return { ...state, elapsed: action.elapsed };
  }
}
