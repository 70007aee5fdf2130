/**
 * The notebook's parameters in the form: guidance when the notebook has no
 * parameters cell, else one typed input per parameter; a widget declaration
 * (`params.dropdown(...)`, ...) gets the same control as the Lab's parameter bar.
 */
import * as React from 'react';

import type { IDeclaredParameter, INotebookParameter, INotebookScheduleInfo } from '../api';
import { fieldError } from '../api/errors';
import type { IFieldError } from '../api/errors';
import { ParamValue, initialValue, inputKind, typeLabel } from './params';
import { choiceText, declaredControl, formParameters } from './widgets';

export function ParameterList(props: {
  info: INotebookScheduleInfo;
  values: Record<string, ParamValue>;
  disabled: boolean;
  errors?: IFieldError[];
  /** Values outside a declaration's choices or bounds, by name. */
  problems?: Record<string, string>;
  onChange: (name: string, value: ParamValue) => void;
}): JSX.Element {
  const { info } = props;
  return (
    <>
      <div className="aws-Section">Parameters</div>
      {!info.has_parameters_cell ? (
        <div className="aws-Guidance" data-testid="schedule-no-parameters">
          <b>This notebook has no parameters cell.</b> It will run as it is, with the values written
          in it. To make values configurable per pipeline or run: put them in one code cell (e.g.{' '}
          <code>day = "2024-01-01"</code>), select that cell, open the Property Inspector (the gear
          icon in the right sidebar), add the cell tag <code>parameters</code> under{' '}
          <i>Common Tools → Cell Tags</i>, save, and reopen this dialog.
        </div>
      ) : info.parameters.length === 0 ? (
        <div className="aws-Hint">The parameters cell defines no variables.</div>
      ) : (
        <div className="aws-Params">
          {formParameters(info.parameters, info.declared).map(({ param: p, declared }) =>
            declared ? (
              <DeclaredInput
                key={p.name}
                declared={declared}
                value={props.values[p.name]}
                disabled={props.disabled}
                error={props.problems?.[p.name] ?? fieldError(props.errors, p.name)}
                onChange={v => props.onChange(p.name, v)}
              />
            ) : (
              <ParameterInput
                key={p.name}
                param={p}
                value={props.values[p.name]}
                disabled={props.disabled}
                error={fieldError(props.errors, p.name)}
                onChange={v => props.onChange(p.name, v)}
              />
            )
          )}
        </div>
      )}
    </>
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

/** The control of a widget declaration: a dropdown, a date picker, a bounded number, ... */
function DeclaredInput(props: {
  declared: IDeclaredParameter;
  value: ParamValue | undefined;
  disabled: boolean;
  error?: string;
  onChange: (v: ParamValue) => void;
}): JSX.Element {
  const d = props.declared;
  const control = declaredControl(d);
  const id = 'aws-param-' + d.name;
  const testid = 'param-' + d.name;
  const value = props.value ?? control.initial;
  const changed = value !== control.initial;
  const common = {
    id,
    'data-testid': testid,
    'data-control': control.kind,
    disabled: props.disabled,
    'aria-invalid': !!props.error
  };
  let input: JSX.Element;
  if (control.kind === 'select') {
    const known = control.options!.some(o => o.value === value);
    input = (
      <select
        {...common}
        className="jp-mod-styled aws-Input"
        value={String(value)}
        onChange={e => props.onChange(e.target.value)}
      >
        {!known && <option value={String(value)}>{String(value)} (not a choice)</option>}
        {control.options!.map(o => (
          <option key={o.value} value={o.value}>
            {o.value}
          </option>
        ))}
      </select>
    );
  } else if (control.kind === 'bool') {
    input = (
      <label className="aws-Check">
        <input
          {...common}
          type="checkbox"
          checked={!!value}
          onChange={e => props.onChange(e.target.checked)}
        />
        {value ? 'True' : 'False'}
      </label>
    );
  } else {
    const numeric = control.kind === 'int' || control.kind === 'float';
    input = (
      <input
        {...common}
        className={'jp-mod-styled aws-Input' + (numeric ? ' aws-mod-code' : '')}
        type={control.kind === 'date' ? 'date' : numeric ? 'number' : 'text'}
        min={control.min}
        max={control.max}
        step={control.kind === 'int' ? 1 : control.kind === 'float' ? 'any' : undefined}
        value={String(value)}
        spellCheck={false}
        onChange={e => props.onChange(e.target.value)}
      />
    );
  }
  return (
    <div className="aws-Param" data-declared={d.kind}>
      <label htmlFor={id} className="aws-ParamLabel">
        {d.label ? <span>{d.label}</span> : <code>{d.name}</code>}
        <span className="aws-ParamType">{control.label}</span>
      </label>
      {input}
      <div className="aws-ParamHelp">
        {props.error ? (
          <span className="aws-FieldError" data-testid={'param-problem-' + d.name}>
            {props.error}
          </span>
        ) : (
          <span className="awr-muted">
            {d.label && (
              <>
                <code>{d.name}</code>
                <span className="awr-sep">·</span>
              </>
            )}
            {control.fromQuery && (
              <>
                choices from a query, checked when the run starts
                <span className="awr-sep">·</span>
              </>
            )}
            default{' '}
            <code>
              {d.default === null || d.default === undefined ? 'None' : choiceText(d.default)}
            </code>
            {changed && ' · changed'}
          </span>
        )}
      </div>
    </div>
  );
}
