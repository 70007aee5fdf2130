/**
 * Notebook parameters in the scheduling form: the input kind and type label of a
 * papermill parameter, its default as an input value, and the JSON sent for it (a widget
 * declaration's control is in widgets.ts). Pure functions (unit-tested).
 */
import type { IDeclaredParameter, INotebookParameter } from '../api/types';
import { declaredControl, declaredJson, formParameters } from './widgets';

/** The kind of input a papermill type gets. */
export type InputKind = 'int' | 'float' | 'bool' | 'text';

/** The value of a parameter's input: text, or a checkbox's state. */
export type ParamValue = string | boolean;

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
export function initialValue(p: INotebookParameter): ParamValue {
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

/** The inputs' values of a notebook's parameters, from their defaults (a declaration's first). */
export function initialValues(
  params: INotebookParameter[],
  declared?: IDeclaredParameter[]
): Record<string, ParamValue> {
  const values: Record<string, ParamValue> = {};
  for (const { param, declared: d } of formParameters(params, declared)) {
    values[param.name] = d ? declaredControl(d).initial : initialValue(param);
  }
  return values;
}

/** The JSON value sent for an input (numbers as numbers, str as text). */
export function jsonValue(p: INotebookParameter, value: ParamValue): any {
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

/** The parameters whose input differs from the default, as JSON values (the request's `parameters`). */
export function changedParameters(
  params: INotebookParameter[],
  values: Record<string, ParamValue>,
  declared?: IDeclaredParameter[]
): Record<string, any> {
  const parameters: Record<string, any> = {};
  for (const { param: p, declared: d } of formParameters(params, declared)) {
    const v = values[p.name];
    if (d) {
      if (v !== undefined && v !== declaredControl(d).initial) {
        parameters[p.name] = declaredJson(d, v);
      }
    } else if (v !== undefined && v !== initialValue(p)) {
      parameters[p.name] = jsonValue(p, v);
    }
  }
  return parameters;
}
