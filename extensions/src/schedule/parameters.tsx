/**
 * The notebook's parameters in the form: guidance when the notebook has no
 * parameters cell, else one typed input per parameter.
 */
import * as React from 'react';

import type { INotebookParameter, INotebookScheduleInfo } from '../api';
import { fieldError } from '../api/errors';
import type { IFieldError } from '../api/errors';
import { ParamValue, initialValue, inputKind, typeLabel } from './params';

export function ParameterList(props: {
  info: INotebookScheduleInfo;
  values: Record<string, ParamValue>;
  disabled: boolean;
  errors?: IFieldError[];
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
          {info.parameters.map(p => (
            <ParameterInput
              key={p.name}
              param={p}
              value={props.values[p.name]}
              disabled={props.disabled}
              error={fieldError(props.errors, p.name)}
              onChange={v => props.onChange(p.name, v)}
            />
          ))}
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
