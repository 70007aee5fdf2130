/**
 * "Schedule this notebook": the form (pipeline name, cron with presets and a live preview,
 * timezone, notebook parameters) and the promotion with its progress and result.
 */
import * as React from 'react';

import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import {
  APIError,
  ICronPreview,
  INotebookParameter,
  INotebookScheduleInfo,
  IPromoteResponse,
  absoluteUrl,
  errorMessage,
  schedule
} from '../api';
import { browserTimezone, relativeTime } from '../common/format';

/** Pipeline names the server accepts (workspace/jobs/spec.py `_NAME`). */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

export const DEFAULT_CRON = '0 6 * * *';

export const CRON_PRESETS: { label: string; cron: string }[] = [
  { label: 'Hourly', cron: '0 * * * *' },
  { label: 'Daily 06:00', cron: '0 6 * * *' },
  { label: 'Weekdays 06:00', cron: '0 6 * * 1-5' },
  { label: 'Weekly Monday', cron: '0 6 * * 1' }
];

/** The kind of input a papermill type gets. */
type InputKind = 'int' | 'float' | 'bool' | 'text';

/**
 * The kind of input of a parameter: its declared type (`top_n: int = 5`), else what its
 * default looks like (papermill reports the type "None" for unannotated variables).
 */
export function inputKind(p: INotebookParameter): InputKind {
  const t = (p.type ?? '').toLowerCase();
  if (t === 'int' || t === 'float' || t === 'bool') {
    return t;
  }
  if (t && t !== 'none') {
    return 'text';
  }
  const d = (p.default ?? '').trim();
  if (/^[+-]?\d+$/.test(d)) {
    return 'int';
  }
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/.test(d)) {
    return 'float';
  }
  if (d === 'True' || d === 'False') {
    return 'bool';
  }
  return 'text';
}

/** The type shown next to a parameter. */
export function typeLabel(p: INotebookParameter): string {
  const t = (p.type ?? '').toLowerCase();
  if (t && t !== 'none') {
    return p.type!;
  }
  const kind = inputKind(p);
  if (kind !== 'text') {
    return kind;
  }
  const d = (p.default ?? '').trim();
  if (/^[rbuRBU]{0,2}(['"]).*\1$/s.test(d)) {
    return 'str';
  }
  if (d.startsWith('[')) {
    return 'list';
  }
  if (d.startsWith('{')) {
    return 'dict';
  }
  return d === 'None' || d === '' ? 'any' : 'expr';
}

/** The default of a parameter (Python source text) as the value of its input. */
export function initialValue(p: INotebookParameter): string | boolean {
  const text = (p.default ?? '').trim();
  const kind = inputKind(p);
  if (kind === 'bool') {
    return text === 'True';
  }
  if (kind === 'text') {
    const m = /^(?:[rbuRBU]{0,2})?(['"])(.*)\1$/s.exec(text);
    if (m) {
      return m[2];
    }
    return text === 'None' ? '' : text;
  }
  return text;
}

/** The JSON value sent for an input (numbers as numbers, str as text). */
function jsonValue(p: INotebookParameter, value: string | boolean): any {
  const kind = inputKind(p);
  if (kind === 'bool') {
    return !!value;
  }
  if (kind === 'int' || kind === 'float') {
    const n = Number(value);
    return value === '' || isNaN(n) ? value : n;
  }
  const type = typeLabel(p);
  if (type === 'list' || type === 'dict') {
    // list, dict, ...: JSON if it parses, else the text
    try {
      return JSON.parse(String(value));
    } catch {
      return value;
    }
  }
  return value;
}

function formatIn(iso: string, timeZone: string): string {
  const d = new Date(iso);
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      timeZone,
      timeZoneName: 'short'
    }).format(d);
  } catch {
    return d.toLocaleString();
  }
}

let timezoneList: string[] | null = null;
function timezones(): string[] {
  if (timezoneList === null) {
    try {
      timezoneList = (Intl as any).supportedValuesOf('timeZone') as string[];
    } catch {
      timezoneList = [];
    }
    if (!timezoneList.includes('UTC')) {
      timezoneList = ['UTC', ...timezoneList];
    }
  }
  return timezoneList;
}

type Phase = 'form' | 'running' | 'done';

interface IResult {
  ok: boolean;
  conflict?: boolean;
  message: string;
  pipeline?: string;
  reportUrl?: string | null;
  /** 'pending': it waits for an engineer's approval before it can run. */
  approval?: string | null;
  fieldErrors?: { field: string; message: string }[];
}

export interface IScheduleFormProps {
  path: string;
  /** Save the notebook before it is read (it may have unsaved changes). */
  prepare: () => Promise<void>;
  openPipeline: (name: string) => void;
  /** A pipeline was scheduled (the Pipelines panel refreshes). */
  scheduled?: (name: string) => void;
  /** Close the dialog. */
  close: () => void;
  /** Register the submit function so the dialog's Enter key can call it. */
  bindSubmit: (submit: () => void) => void;
  /** Called when the phase changes (the dialog relabels its button). */
  onPhase?: (phase: Phase) => void;
}

export function ScheduleForm(props: IScheduleFormProps): JSX.Element {
  const [info, setInfo] = React.useState<INotebookScheduleInfo | null>(null);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [name, setName] = React.useState('');
  const [cron, setCron] = React.useState(DEFAULT_CRON);
  const [timezone, setTimezone] = React.useState(browserTimezone());
  const [values, setValues] = React.useState<Record<string, string | boolean>>({});
  const [preview, setPreview] = React.useState<ICronPreview | null>(null);
  const [previewError, setPreviewError] = React.useState<string | null>(null);
  const [previewLoading, setPreviewLoading] = React.useState(false);
  const [phase, setPhaseState] = React.useState<Phase>('form');
  const [result, setResult] = React.useState<IResult | null>(null);
  const [elapsed, setElapsed] = React.useState(0);
  const [touched, setTouched] = React.useState(false);

  const setPhase = (p: Phase) => {
    setPhaseState(p);
    props.onPhase?.(p);
  };

  // Load the notebook's parameters (after saving it).
  const load = React.useCallback(async () => {
    setLoadError(null);
    setInfo(null);
    try {
      await props.prepare();
      const nb = await schedule.notebook(props.path);
      setInfo(nb);
      setName(nb.suggested_name);
      const v: Record<string, string | boolean> = {};
      for (const p of nb.parameters) {
        v[p.name] = initialValue(p);
      }
      setValues(v);
    } catch (err) {
      setLoadError(errorMessage(err));
    }
  }, [props.path]);

  React.useEffect(() => {
    void load();
  }, [load]);

  // Live cron preview, debounced.
  React.useEffect(() => {
    const text = cron.trim();
    if (!text) {
      setPreview(null);
      setPreviewError('Enter a cron expression, e.g. 0 6 * * * (every day at 06:00).');
      return;
    }
    let stale = false;
    const controller = new AbortController();
    setPreviewLoading(true);
    const timer = window.setTimeout(() => {
      schedule
        .cron(text, timezone.trim() || 'UTC', { signal: controller.signal })
        .then(p => {
          if (!stale) {
            setPreview(p);
            setPreviewError(null);
          }
        })
        .catch(err => {
          if (!stale) {
            setPreview(null);
            setPreviewError(errorMessage(err));
          }
        })
        .finally(() => {
          if (!stale) {
            setPreviewLoading(false);
          }
        });
    }, 350);
    return () => {
      stale = true;
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [cron, timezone]);

  // Elapsed time while the promotion runs.
  React.useEffect(() => {
    if (phase !== 'running') {
      return;
    }
    const start = Date.now();
    setElapsed(0);
    const t = window.setInterval(
      () => setElapsed(Math.round((Date.now() - start) / 1000)),
      1000
    );
    return () => window.clearInterval(t);
  }, [phase]);

  const nameError =
    name === ''
      ? 'A pipeline needs a name.'
      : !NAME_PATTERN.test(name)
        ? 'Use lowercase letters, digits and _, starting with a letter (e.g. sales_report).'
        : null;

  const submit = async (force = false) => {
    setTouched(true);
    if (!info || nameError || phase === 'running') {
      return;
    }
    const parameters: Record<string, any> = {};
    for (const p of info.parameters) {
      const v = values[p.name];
      if (v !== undefined && v !== initialValue(p)) {
        parameters[p.name] = jsonValue(p, v);
      }
    }
    setResult(null);
    setPhase('running');
    try {
      await props.prepare();
      const res: IPromoteResponse = await schedule.promote({
        path: props.path,
        name,
        cron: cron.trim() || null,
        timezone: timezone.trim() || 'UTC',
        parameters,
        force
      });
      setResult({
        ok: true,
        message: res.message,
        pipeline: res.pipeline,
        reportUrl: res.report_url,
        approval: res.approval ?? null
      });
      setPhase('done');
      props.scheduled?.(res.pipeline);
    } catch (err) {
      const api = err instanceof APIError ? err : null;
      setResult({
        ok: false,
        conflict: api?.status === 409,
        message: errorMessage(err),
        reportUrl: api?.body?.report_url ?? null,
        fieldErrors: api?.errors ?? []
      });
      setPhase(api?.status === 409 || (api?.errors?.length ?? 0) > 0 ? 'form' : 'done');
    }
  };

  const submitRef = React.useRef(submit);
  submitRef.current = submit;
  React.useEffect(() => {
    props.bindSubmit(() => void submitRef.current(false));
  }, []);

  if (loadError) {
    return (
      <div className="aws-Form" data-testid="schedule-form">
        <div className="awr-Error" role="alert">
          <span className="awr-Error-text">{loadError}</span>
        </div>
        <button type="button" className="awr-Button" onClick={() => void load()}>
          Retry
        </button>
      </div>
    );
  }
  if (!info) {
    return (
      <div className="aws-Form" data-testid="schedule-form" data-loading="true">
        <div className="awr-Loading">
          <span className="awr-Spinner" /> Reading {props.path}…
        </div>
      </div>
    );
  }

  const fieldError = (field: string) =>
    result?.fieldErrors?.find(e => e.field === field || e.field.endsWith('.' + field))
      ?.message;
  const disabled = phase !== 'form';

  return (
    <form
      className="aws-Form"
      data-testid="schedule-form"
      onSubmit={e => {
        e.preventDefault();
        void submit(false);
      }}
    >
      <div className="aws-Notebook">
        <span className="awr-muted">Notebook</span> <code>{info.path}</code>
      </div>

      <div className="aws-Field">
        <label htmlFor="aws-name">Pipeline name</label>
        <input
          id="aws-name"
          className="jp-mod-styled aws-Input"
          data-testid="schedule-name"
          value={name}
          disabled={disabled}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={!!nameError}
          onChange={e => setName(e.target.value)}
          onBlur={() => setTouched(true)}
        />
        {(touched || name !== info.suggested_name) && nameError ? (
          <div className="aws-FieldError">{nameError}</div>
        ) : fieldError('name') ? (
          <div className="aws-FieldError">{fieldError('name')}</div>
        ) : info.existing && name === info.suggested_name ? (
          <div className="aws-Hint aws-mod-warn">
            A pipeline named <b>{name}</b> already exists; submitting offers to
            replace it.
          </div>
        ) : (
          <div className="aws-Hint">
            Folder <code>scheduled/{name || '…'}/</code>
          </div>
        )}
      </div>

      <div className="aws-Row">
        <div className="aws-Field aws-mod-grow">
          <label htmlFor="aws-cron">Schedule (cron)</label>
          <input
            id="aws-cron"
            className="jp-mod-styled aws-Input aws-mod-code"
            data-testid="schedule-cron"
            value={cron}
            disabled={disabled}
            spellCheck={false}
            autoComplete="off"
            placeholder="min hour day month weekday"
            onChange={e => setCron(e.target.value)}
          />
        </div>
        <div className="aws-Field aws-mod-tz">
          <label htmlFor="aws-tz">Timezone</label>
          <input
            id="aws-tz"
            className="jp-mod-styled aws-Input"
            data-testid="schedule-timezone"
            list="aws-tz-list"
            value={timezone}
            disabled={disabled}
            spellCheck={false}
            autoComplete="off"
            onChange={e => setTimezone(e.target.value)}
          />
          <datalist id="aws-tz-list">
            {timezones().map(z => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </div>
      </div>
      <div className="aws-Presets" role="group" aria-label="Cron presets">
        {CRON_PRESETS.map(p => (
          <button
            key={p.cron}
            type="button"
            className={'aws-Preset' + (cron.trim() === p.cron ? ' aws-mod-active' : '')}
            disabled={disabled}
            title={p.cron}
            onClick={() => setCron(p.cron)}
          >
            {p.label}
          </button>
        ))}
      </div>
      <div
        className={'aws-Preview' + (previewError ? ' aws-mod-error' : '')}
        aria-live="polite"
      >
        {previewError ? (
          <div className="aws-PreviewError" data-testid="cron-error">
            {previewError}
          </div>
        ) : preview ? (
          <>
            <div className="aws-PreviewDesc" data-testid="cron-description">
              {preview.description}
              <span className="awr-muted"> ({preview.timezone})</span>
              {previewLoading && <span className="awr-Spinner aws-PreviewSpin" />}
            </div>
            <ul className="aws-PreviewNext" data-testid="cron-next">
              {preview.next.map(t => (
                <li key={t}>
                  {formatIn(t, preview.timezone)}{' '}
                  <span className="awr-muted">{relativeTime(t)}</span>
                </li>
              ))}
            </ul>
          </>
        ) : (
          <div className="awr-muted">
            <span className="awr-Spinner" /> Checking the schedule…
          </div>
        )}
      </div>

      <div className="aws-Section">Parameters</div>
      {!info.has_parameters_cell ? (
        <div className="aws-Guidance" data-testid="schedule-no-parameters">
          <b>This notebook has no parameters cell.</b> It will run as it is, with
          the values written in it. To make values configurable per pipeline or
          run: put them in one code cell (e.g. <code>day = "2024-01-01"</code>),
          select that cell, open the Property Inspector (the gear icon in the right
          sidebar), add the cell tag <code>parameters</code> under{' '}
          <i>Common Tools → Cell Tags</i>, save, and reopen this dialog.
        </div>
      ) : info.parameters.length === 0 ? (
        <div className="aws-Hint">The parameters cell defines no variables.</div>
      ) : (
        <div className="aws-Params">
          {info.parameters.map(p => (
            <ParameterInput
              key={p.name}
              param={p}
              value={values[p.name]}
              disabled={disabled}
              error={fieldError(p.name)}
              onChange={v => setValues({ ...values, [p.name]: v })}
            />
          ))}
        </div>
      )}

      {phase === 'running' && (
        <div className="aws-Progress" data-testid="schedule-progress">
          <span className="awr-Spinner aws-ProgressSpin" />
          <div>
            <div>Test-running the notebook against a copy of the lake…</div>
            <div className="awr-muted">
              {elapsed} s — this usually takes 10–60 s. Your real tables are not
              touched.
            </div>
          </div>
        </div>
      )}

      {result && (
        <div
          className={'aws-Result' + (result.ok ? ' aws-mod-ok' : ' aws-mod-failed')}
          data-testid="schedule-result"
          data-ok={result.ok ? 'true' : 'false'}
          data-approval={result.approval ?? ''}
          role={result.ok ? 'status' : 'alert'}
        >
          <div className="aws-ResultTitle">
            {result.ok && result.approval === 'pending'
              ? `Pipeline ${result.pipeline} is pending review`
              : result.ok
                ? `Scheduled: pipeline ${result.pipeline}`
                : result.conflict
                  ? 'This pipeline already exists'
                  : 'Not scheduled'}
          </div>
          <div className="aws-ResultMessage">{result.message}</div>
          {result.ok && result.approval === 'pending' && (
            <div className="aws-ResultNote" data-testid="schedule-pending">
              The Pipelines panel shows it as <b>Pending review</b> until an engineer
              or admin approves it; then it runs. Its reports are private until you
              share them from the Pipelines panel.
            </div>
          )}
          <div className="aws-ResultLinks">
            {result.ok && result.pipeline && (
              <button
                type="button"
                className="awr-Button awr-mod-accept"
                data-testid="schedule-open-pipeline"
                onClick={() => props.openPipeline(result.pipeline!)}
              >
                Open pipeline
              </button>
            )}
            {result.conflict && (
              <button
                type="button"
                className="awr-Button awr-mod-warn"
                data-testid="schedule-replace"
                onClick={() => void submit(true)}
              >
                Replace {name}
              </button>
            )}
            {result.reportUrl && (
              <a
                className="awr-Button awr-mod-link"
                data-testid="schedule-report"
                href={absoluteUrl(result.reportUrl)}
                target="_blank"
                rel="noopener noreferrer"
              >
                Test run report ↗
              </a>
            )}
            {!result.ok && !result.conflict && phase === 'done' && (
              <button
                type="button"
                className="awr-Button"
                onClick={() => {
                  setResult(null);
                  setPhase('form');
                }}
              >
                Edit and retry
              </button>
            )}
          </div>
        </div>
      )}

      <div className="aws-Actions">
        <button
          type="button"
          className="awr-Button aws-Close"
          data-testid="schedule-close"
          onClick={props.close}
        >
          {phase === 'done' && result?.ok ? 'Close' : 'Cancel'}
        </button>
        {phase !== 'done' && (
          <button
            type="submit"
            className="awr-Button awr-mod-accept aws-Submit"
            data-testid="schedule-submit"
            disabled={!!nameError || !!previewError || phase === 'running'}
            title={
              nameError ??
              previewError ??
              'Test-run the notebook, then add it to the scheduled pipelines'
            }
          >
            {phase === 'running' ? (
              <>
                <span className="awr-Spinner" /> Testing…
              </>
            ) : (
              'Test and schedule'
            )}
          </button>
        )}
      </div>
    </form>
  );
}

function ParameterInput(props: {
  param: INotebookParameter;
  value: string | boolean | undefined;
  disabled: boolean;
  error?: string;
  onChange: (v: string | boolean) => void;
}): JSX.Element {
  const p = props.param;
  const kind = inputKind(p);
  const id = 'aws-param-' + p.name;
  const changed = props.value !== undefined && props.value !== initialValue(p);
  return (
    <div className="aws-Param">
      <label htmlFor={id} className="aws-ParamLabel">
        <code>{p.name}</code>
        <span className="aws-ParamType">{typeLabel(p)}</span>
      </label>
      {kind === 'bool' ? (
        <label className="aws-Check">
          <input
            id={id}
            type="checkbox"
            data-testid={'param-' + p.name}
            checked={!!props.value}
            disabled={props.disabled}
            onChange={e => props.onChange(e.target.checked)}
          />
          {props.value ? 'True' : 'False'}
        </label>
      ) : (
        <input
          id={id}
          className="jp-mod-styled aws-Input aws-mod-code"
          data-testid={'param-' + p.name}
          type={kind === 'text' ? 'text' : 'number'}
          step={kind === 'int' ? 1 : kind === 'float' ? 'any' : undefined}
          value={String(props.value ?? '')}
          placeholder={p.default ?? ''}
          disabled={props.disabled}
          spellCheck={false}
          onChange={e => props.onChange(e.target.value)}
        />
      )}
      <div className="aws-ParamHelp">
        {props.error ? (
          <span className="aws-FieldError">{props.error}</span>
        ) : (
          <>
            {p.help && (
              <span>
                {p.help}
                <span className="awr-sep">·</span>
              </span>
            )}
            <span className="awr-muted">
              default <code>{p.default ?? 'None'}</code>
              {changed && ' · changed'}
            </span>
          </>
        )}
      </div>
    </div>
  );
}

/** The form in a ReactWidget. */
export class ScheduleFormWidget extends ReactWidget {
  constructor(props: Omit<IScheduleFormProps, 'bindSubmit'>) {
    super();
    this._props = props;
    this.addClass('aws-FormWidget');
  }

  submit(): void {
    this._submit?.();
  }

  render(): JSX.Element {
    return (
      <ScheduleForm
        {...this._props}
        bindSubmit={s => {
          this._submit = s;
        }}
      />
    );
  }

  private _props: Omit<IScheduleFormProps, 'bindSubmit'>;
  private _submit: (() => void) | null = null;
}

/** A dialog whose Enter key (in an input of the form) submits the form, not closes. */
export class ScheduleDialog extends Dialog<void> {
  constructor(options: Partial<Dialog.IOptions<void>> & { form: ScheduleFormWidget }) {
    super(options);
    this._form = options.form;
    this.addClass('aws-Dialog');
  }

  handleEvent(event: Event): void {
    if (event.type === 'keydown' && (event as KeyboardEvent).key === 'Enter') {
      const target = event.target as HTMLElement | null;
      if (
        target &&
        this._form.node.contains(target) &&
        (target instanceof HTMLInputElement || target instanceof HTMLSelectElement)
      ) {
        event.preventDefault();
        event.stopPropagation();
        if (!(target instanceof HTMLInputElement && target.type === 'checkbox')) {
          this._form.submit();
        }
        return;
      }
      if (target && this._form.node.contains(target)) {
        // buttons and links of the form handle Enter themselves
        return;
      }
    }
    super.handleEvent(event);
  }

  private _form: ScheduleFormWidget;
}
