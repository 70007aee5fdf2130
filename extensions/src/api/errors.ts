/**
 * The one error type of the server routes, and how an HTTP answer becomes one.
 * No JupyterLab import here, so the mapping is unit-tested in plain Node.
 */

/** A field error of an invalid-input answer (400). */
export interface IFieldError {
  field: string;
  message: string;
}

/** Marks the APIError of an aborted request (see `isAbortError`). */
export const ABORTED = Symbol('aborted');

/**
 * An error answer of the server (or a network failure, status 0).
 * `message` is the server's `error` text, meant to be shown to the user;
 * `body` the decoded answer (e.g. a failed promotion's `report_url`).
 */
export class APIError extends Error {
  status: number;
  errors: IFieldError[];
  body: any;

  constructor(message: string, status: number, errors: IFieldError[] = [], body: any = null) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.errors = errors;
    this.body = body;
  }
}

/** True when the error comes from an aborted fetch (AbortController). */
export function isAbortError(err: unknown): boolean {
  return (
    !!err &&
    typeof err === 'object' &&
    ((err as any).name === 'AbortError' || (err instanceof APIError && err.body === ABORTED))
  );
}

/** The error thrown for a request cancelled by its AbortSignal. */
export function abortedError(): APIError {
  const aborted = new APIError('Request cancelled', 0, [], ABORTED);
  aborted.name = 'AbortError';
  return aborted;
}

/** The error thrown when the server cannot be reached at all. */
export function unreachableError(): APIError {
  return new APIError(
    'Cannot reach the Jupyter server. Check that it is still running, then retry.',
    0,
    [],
    null
  );
}

/** The decoded body of an answer: JSON, else the text, `null` when empty. */
export function parseBody(text: string): any {
  if (text.length === 0) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The APIError of a non-2xx answer: the server's `error` (or `message`) text and
 * field errors; a bare 404 means the server extension is not there.
 */
export function errorFromResponse(status: number, statusText: string, body: any): APIError {
  const isObject = !!body && typeof body === 'object';
  let message: string;
  if (isObject && typeof body.error === 'string') {
    message = body.error;
  } else if (isObject && typeof body.message === 'string') {
    message = body.message;
  } else if (status === 404 && typeof body !== 'object') {
    // an HTML or text 404 (an empty body, null, is a plain failure below)
    message = 'The workspace server extension did not answer (404). Is `workspace.server` enabled?';
  } else {
    message = `Request failed: ${status} ${statusText}`;
  }
  const errors: IFieldError[] = isObject && Array.isArray(body.errors) ? body.errors : [];
  return new APIError(message, status, errors, body);
}

/** The message of anything thrown by the client (or anything else). */
export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) {
    return String((err as any).message) || 'Unknown error';
  }
  return String(err);
}

/** The message of a field error for `field` (or `something.field`), if any. */
export function fieldError(errors: IFieldError[] | undefined, field: string): string | undefined {
  return errors?.find(e => e.field === field || e.field.endsWith('.' + field))?.message;
}
