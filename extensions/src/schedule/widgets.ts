/**
 * Widget parameters (`params.dropdown(...)`, `params.date(...)`, ... in the notebook's
 * parameters cell) in the scheduling form: the control each declaration gets (the same
 * as the Lab's parameter bar), its default as the control's value, the problem of a value
 * outside the declared choices or bounds (shown before submit), and the JSON sent for it.
 * Pure functions (unit-tested).
 */
import type { IDeclaredParameter, INotebookParameter } from '../api/types';
import type { ParamValue } from './params';

/** The control of a declaration: a dropdown, a date picker, a number input, a checkbox, text. */
export type ControlKind = 'select' | 'date' | 'int' | 'float' | 'bool' | 'text';

export interface IControl {
  kind: ControlKind;
  /** A dropdown's options: each choice's value in the form (its text) and the choice. */
  options?: { value: string; choice: any }[];
  min?: number;
  max?: number;
  /** The declared default as the control's value. */
  initial: ParamValue;
  /** A query-backed dropdown: its choices are only known in the kernel (a text field). */
  fromQuery?: boolean;
  /** What the type column shows. */
  label: string;
}

const NUMERIC: Record<string, ControlKind> = { integer: 'int', number: 'float' };

/** The text of a choice in a `<select>` (strings as they are, the rest as JSON). */
export function choiceText(choice: any): string {
  return typeof choice === 'string' ? choice : JSON.stringify(choice);
}

/** The control a declaration gets, with its default filled in. */
export function declaredControl(d: IDeclaredParameter): IControl {
  const bounds = {
    ...(d.min !== null && d.min !== undefined ? { min: d.min } : {}),
    ...(d.max !== null && d.max !== undefined ? { max: d.max } : {})
  };
  switch (d.kind) {
    case 'dropdown':
      if (!d.choices) {
        return {
          kind: 'text',
          initial: d.default === null || d.default === undefined ? '' : choiceText(d.default),
          fromQuery: true,
          label: 'dropdown (query)'
        };
      }
      return {
        kind: 'select',
        options: d.choices.map(choice => ({ value: choiceText(choice), choice })),
        initial: d.default === null || d.default === undefined ? '' : choiceText(d.default),
        label: 'dropdown'
      };
    case 'date':
      return { kind: 'date', initial: String(d.default ?? ''), label: 'date' };
    case 'integer':
    case 'number':
      return {
        kind: NUMERIC[d.kind],
        ...bounds,
        initial: d.default === null || d.default === undefined ? '' : String(d.default),
        label: d.kind + boundsText(d)
      };
    case 'checkbox':
      return { kind: 'bool', initial: !!d.default, label: 'checkbox' };
    default:
      return { kind: 'text', initial: String(d.default ?? ''), label: 'text' };
  }
}

function boundsText(d: IDeclaredParameter): string {
  const lo = d.min ?? null;
  const hi = d.max ?? null;
  if (lo === null && hi === null) {
    return '';
  }
  return ` ${lo ?? ''}..${hi ?? ''}`;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Why `value` does not fit the declaration (as the run would refuse it), or null. */
export function controlProblem(d: IDeclaredParameter, value: ParamValue): string | null {
  const control = declaredControl(d);
  if (control.kind === 'select') {
    if (!control.options!.some(o => o.value === value)) {
      const shown = control.options!.map(o => o.value).join(', ');
      return `${JSON.stringify(value)} is not one of ${shown}`;
    }
    return null;
  }
  if (control.kind === 'date') {
    const text = String(value);
    const parsed = new Date(text + 'T00:00:00Z');
    if (!ISO_DATE.test(text) || isNaN(parsed.getTime()) || !parsed.toISOString().startsWith(text)) {
      return 'not a date (YYYY-MM-DD)';
    }
    return null;
  }
  if (control.kind === 'int' || control.kind === 'float') {
    const text = String(value).trim();
    const n = Number(text);
    if (text === '' || !isFinite(n)) {
      return `${JSON.stringify(value)} is not a number`;
    }
    if (control.kind === 'int' && !Number.isInteger(n)) {
      return `${text} is not an integer`;
    }
    if (
      (control.min !== undefined && n < control.min) ||
      (control.max !== undefined && n > control.max)
    ) {
      return `${text} is outside ${control.min ?? ''} .. ${control.max ?? ''}`;
    }
  }
  return null;
}

/** The JSON value sent for a control's value: the choice itself, a number, a boolean, text. */
export function declaredJson(d: IDeclaredParameter, value: ParamValue): any {
  const control = declaredControl(d);
  switch (control.kind) {
    case 'select':
      return control.options!.find(o => o.value === value)?.choice ?? value;
    case 'int':
    case 'float': {
      const n = Number(value);
      return String(value).trim() === '' || isNaN(n) ? value : n;
    }
    case 'bool':
      return !!value;
    default:
      return value;
  }
}

/** The declarations by parameter name. */
export function declaredByName(
  declared: IDeclaredParameter[] | undefined
): Record<string, IDeclaredParameter> {
  const found: Record<string, IDeclaredParameter> = {};
  for (const d of declared ?? []) {
    found[d.name] = d;
  }
  return found;
}

/**
 * The form's parameters: papermill's (which include the declared ones) and any declaration
 * papermill did not list, each with its declaration if it has one.
 */
export function formParameters(
  parameters: INotebookParameter[],
  declared: IDeclaredParameter[] | undefined
): { param: INotebookParameter; declared?: IDeclaredParameter }[] {
  const byName = declaredByName(declared);
  const listed = parameters.map(param => ({ param, declared: byName[param.name] }));
  const names = new Set(parameters.map(p => p.name));
  for (const d of declared ?? []) {
    if (!names.has(d.name)) {
      const param = { name: d.name, type: null, default: JSON.stringify(d.default), help: null };
      listed.push({ param, declared: d });
    }
  }
  return listed;
}

/** The problems of the form's declared values, by parameter name (empty: none). */
export function declaredProblems(
  declared: IDeclaredParameter[] | undefined,
  values: Record<string, ParamValue>
): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const d of declared ?? []) {
    const value = values[d.name];
    const problem = value === undefined ? null : controlProblem(d, value);
    if (problem) {
      problems[d.name] = problem;
    }
  }
  return problems;
}
