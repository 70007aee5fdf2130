/**
 * "Schedule this notebook": the form (pipeline name, the cron field, the notebook's
 * parameters) and the promotion with its progress and result. The state is one
 * reducer (state.ts); the pieces are CronField, ParameterList and ResultPanel.
 */
import * as React from 'react';

import { Dialog } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';

import { errorMessage, fieldError, schedule } from '../api';
import { browserTimezone } from '../common/format';
import { cronRequest, nameError as nameProblem } from './cron';
import { CronField } from './cronfield';
import { ParameterList } from './parameters';
import { changedParameters } from './params';
import { Progress, ResultPanel } from './result';
import { Phase, formReducer, initialState } from './state';
import { declaredProblems } from './widgets';

export { CRON_PRESETS, DEFAULT_CRON, NAME_PATTERN } from './cron';
export { initialValue, inputKind, typeLabel } from './params';

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

/** Wait after the last keystroke in the cron or timezone before previewing, ms. */
const PREVIEW_DEBOUNCE_MS = 350;

export function ScheduleForm(props: IScheduleFormProps): JSX.Element {
  const [state, dispatch] = React.useReducer(formReducer, browserTimezone(), initialState);
  const { info, name, cron, timezone, phase, result } = state;

  // Tell the dialog when the phase changes (not for the first one).
  const lastPhase = React.useRef<Phase>(phase);
  React.useEffect(() => {
    if (lastPhase.current !== phase) {
      lastPhase.current = phase;
      props.onPhase?.(phase);
    }
  }, [phase]);

  // Load the notebook's parameters (after saving it).
  const load = React.useCallback(async () => {
    dispatch({ type: 'load' });
    try {
      await props.prepare();
      dispatch({ type: 'loaded', info: await schedule.notebook(props.path) });
    } catch (err) {
      dispatch({ type: 'loadFailed', message: errorMessage(err) });
    }
  }, [props.path]);

  React.useEffect(() => {
    void load();
  }, [load]);

  // Live cron preview, debounced.
  React.useEffect(() => {
    const request = cronRequest(cron, timezone);
    if (request.cron === null) {
      dispatch({ type: 'previewEmpty' });
      return;
    }
    const text = request.cron;
    let stale = false;
    const controller = new AbortController();
    dispatch({ type: 'previewStart' });
    const timer = window.setTimeout(() => {
      schedule
        .cron(text, request.timezone, { signal: controller.signal })
        .then(preview => {
          if (!stale) {
            dispatch({ type: 'previewDone', preview });
          }
        })
        .catch(err => {
          if (!stale) {
            dispatch({ type: 'previewFailed', message: errorMessage(err) });
          }
        });
    }, PREVIEW_DEBOUNCE_MS);
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
    dispatch({ type: 'tick', elapsed: 0 });
    const t = window.setInterval(
      () => dispatch({ type: 'tick', elapsed: Math.round((Date.now() - start) / 1000) }),
      1000
    );
    return () => window.clearInterval(t);
  }, [phase]);

  const nameError = nameProblem(name);

  const submit = async (force = false) => {
    dispatch({ type: 'touch' });
    if (!info || nameError || phase === 'running') {
      return;
    }
    if (Object.keys(declaredProblems(info.declared, state.values)).length > 0) {
      return; // the controls show what is wrong
    }
    const parameters = changedParameters(info.parameters, state.values, info.declared);
    dispatch({ type: 'submit' });
    try {
      await props.prepare();
      const response = await schedule.promote({
        path: props.path,
        name,
        ...cronRequest(cron, timezone),
        parameters,
        force
      });
      dispatch({ type: 'promoted', response });
      props.scheduled?.(response.pipeline);
    } catch (error) {
      dispatch({ type: 'promoteFailed', error });
    }
  };

  const submitRef = React.useRef(submit);
  submitRef.current = submit;
  React.useEffect(() => {
    props.bindSubmit(() => void submitRef.current(false));
  }, []);

  if (state.loadError) {
    return (
      <div className="aws-Form" data-testid="schedule-form">
        <div className="awr-Error" role="alert">
          <span className="awr-Error-text">{state.loadError}</span>
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

  const nameFieldError = fieldError(result?.fieldErrors, 'name');
  const problems = declaredProblems(info.declared, state.values);
  const paramProblem = Object.keys(problems).length
    ? `Fix the parameters first: ${Object.entries(problems)
        .map(([n, p]) => `${n}: ${p}`)
        .join('; ')}`
    : null;
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
          onChange={e => dispatch({ type: 'setName', name: e.target.value })}
          onBlur={() => dispatch({ type: 'touch' })}
        />
        {(state.touched || name !== info.suggested_name) && nameError ? (
          <div className="aws-FieldError">{nameError}</div>
        ) : nameFieldError ? (
          <div className="aws-FieldError">{nameFieldError}</div>
        ) : info.existing && name === info.suggested_name ? (
          <div className="aws-Hint aws-mod-warn">
            A pipeline named <b>{name}</b> already exists; submitting offers to replace it.
          </div>
        ) : (
          <div className="aws-Hint">
            Folder <code>scheduled/{name || '…'}/</code>
          </div>
        )}
      </div>

      <CronField
        cron={cron}
        timezone={timezone}
        preview={state.preview}
        previewError={state.previewError}
        previewLoading={state.previewLoading}
        disabled={disabled}
        onCron={value => dispatch({ type: 'setCron', cron: value })}
        onTimezone={value => dispatch({ type: 'setTimezone', timezone: value })}
      />

      <ParameterList
        info={info}
        values={state.values}
        problems={problems}
        disabled={disabled}
        errors={result?.fieldErrors}
        onChange={(param, value) => dispatch({ type: 'setValue', name: param, value })}
      />

      {phase === 'running' && <Progress elapsed={state.elapsed} />}

      {result && (
        <ResultPanel
          result={result}
          phase={phase}
          name={name}
          openPipeline={props.openPipeline}
          replace={() => void submit(true)}
          editAgain={() => dispatch({ type: 'editAgain' })}
        />
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
            disabled={!!nameError || !!state.previewError || !!paramProblem || phase === 'running'}
            title={
              nameError ??
              state.previewError ??
              paramProblem ??
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
