/**
 * REST client for the `workspace.server` jupyter_server extension.
 *
 * The contract is described in docs/extension-api.md (and
 * workspace/server/openapi.yaml). Every route lives under
 * `{base_url}workspace/api/`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Prefix of every route of the server extension, relative to base_url. */
export const API_PREFIX = 'workspace/api/';

/** A field error of an invalid-input answer (400). */
export interface IFieldError {
  field: string;
  message: string;
}

/**
 * An error answer of the server (or a network failure, status 0).
 * `message` is the server's `error` text, meant to be shown to the user.
 */
export class APIError extends Error {
  status: number;
  errors: IFieldError[];
  body: any;

  constructor(
    message: string,
    status: number,
    errors: IFieldError[] = [],
    body: any = null
  ) {
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
    ((err as any).name === 'AbortError' ||
      (err instanceof APIError && err.body === ABORTED))
  );
}

const ABORTED = Symbol('aborted');

/**
 * Call a route of the server extension.
 *
 * @param path - route below `workspace/api/`, with its query string, e.g.
 *   `catalog/tables?layer=gold`.
 * @param init - fetch options; a plain object `body` is not accepted, pass
 *   `JSON.stringify(...)` (the Content-Type is set to JSON when a body is
 *   given).
 * @returns the decoded JSON answer (`null` for an empty body).
 * @throws APIError with the server's message, or status 0 when the server
 *   cannot be reached.
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_PREFIX, path);
  const headers = new Headers(init.headers ?? {});
  if (init.body !== undefined && init.body !== null && !headers.has('Content-Type')) {
    headers.set('Content-Type', 'application/json');
  }
  let response: Response;
  try {
    // `no-cache` (revalidate) instead of Lab's default `no-store`, which
    // appends a bare `?<timestamp>` cache buster that the server's strict
    // query validation rejects as an unknown parameter.
    response = await ServerConnection.makeRequest(
      url,
      { cache: 'no-cache', ...init, headers },
      settings
    );
  } catch (err) {
    if (init.signal?.aborted || (err as any)?.name === 'AbortError') {
      const aborted = new APIError('Request cancelled', 0, [], ABORTED);
      aborted.name = 'AbortError';
      throw aborted;
    }
    throw new APIError(
      'Cannot reach the Jupyter server. Check that it is still running, then retry.',
      0,
      [],
      null
    );
  }

  const text = await response.text();
  let body: any = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    let message: string;
    if (body && typeof body === 'object' && typeof body.error === 'string') {
      message = body.error;
    } else if (body && typeof body === 'object' && typeof body.message === 'string') {
      message = body.message;
    } else if (response.status === 404 && typeof body !== 'object') {
      message =
        'The workspace server extension did not answer (404). Is `workspace.server` enabled?';
    } else {
      message = `Request failed: ${response.status} ${response.statusText}`;
    }
    const errors: IFieldError[] =
      body && typeof body === 'object' && Array.isArray(body.errors)
        ? body.errors
        : [];
    throw new APIError(message, response.status, errors, body);
  }
  return body as T;
}

/**
 * Make an absolute browser URL from a path the server returned (such as a
 * report or log URL, already absolute under base_url) or from a route path
 * relative to base_url. Full URLs are returned unchanged.
 */
export function absoluteUrl(pathOrUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUrl)) {
    return pathOrUrl;
  }
  const settings = ServerConnection.makeSettings();
  const base = new URL(settings.baseUrl, window.location.href);
  if (pathOrUrl.startsWith('/')) {
    return new URL(pathOrUrl, base.origin).href;
  }
  return new URL(pathOrUrl, base.href).href;
}

/** Build a query string from the defined entries, e.g. `?a=1&b=x`. */
export function query(params: {
  [key: string]: string | number | boolean | null | undefined;
}): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/* ----------------------------------------------------------------------- */
/* Catalog payloads                                                          */
/* ----------------------------------------------------------------------- */

export type Classification = 'public' | 'internal' | 'confidential' | 'restricted';

/** One layer of `GET catalog/layers`. */
export interface ILayer {
  name: string;
  tables: number;
  description?: string | null;
}

/** `GET catalog/layers` */
export interface ILayersResponse {
  exists: boolean;
  message: string | null;
  user?: string | null;
  layers: ILayer[];
}

/** An entry of `GET catalog/tables`. */
export interface ITableItem {
  name: string;
  layer: string;
  description: string | null;
  owner: string | null;
  tags: string[];
  classification: Classification | string | null;
  matched?: string[];
  score?: number;
}

/** `GET catalog/tables` */
export interface ITablesResponse {
  total: number;
  offset: number;
  limit: number;
  query: string | null;
  tables: ITableItem[];
}

export interface IColumn {
  name: string;
  type: string;
  nullable?: boolean;
  description?: string | null;
  pii?: boolean;
}

export interface ISnapshot {
  snapshot_id: number;
  time: string;
  operations: string[];
  author: string | null;
  message: string | null;
}

export interface IWriter {
  pipeline: string;
  task: string | null;
  last_run_id: string | null;
  last_written: string | null;
  runs?: number;
}

/** `GET catalog/tables/{name}` */
export interface ITableDetail {
  name: string;
  layer: string;
  columns: IColumn[];
  row_count: number | null;
  size_bytes: number | null;
  file_count?: number | null;
  snapshots: ISnapshot[];
  created?: string | null;
  last_modified?: string | null;
  owner: string | null;
  description: string | null;
  tags: string[];
  classification: Classification | string | null;
  writers: IWriter[];
  /** Why the writers could not be listed (lineage unavailable), else null. */
  lineage_error?: string | null;
  snippets: { sql: string; ibis: string };
}

/** `GET catalog/tables/{name}/preview` */
export interface IPreviewResponse {
  name: string;
  snapshot_id: number | null;
  offset: number;
  limit: number;
  total: number;
  columns: { name: string; type: string }[];
  rows: any[][];
}

export interface IHistogramBin {
  low: number | string;
  high: number | string;
  count: number;
}

export interface IColumnProfile {
  name: string;
  type: string;
  null_pct: number | null;
  approx_distinct: number | null;
  min: any;
  max: any;
  mean: number | null;
  top_values: [any, number][] | null;
  histogram: IHistogramBin[] | null;
}

/** `GET catalog/tables/{name}/profile` */
export interface ITableProfile {
  table: string;
  snapshot_id: number | null;
  row_count: number | null;
  computed_at: string | null;
  cached: boolean;
  columns: IColumnProfile[];
}

/** URL path segment of a table route: `catalog/tables/bronze.orders`. */
export function tablePath(name: string): string {
  return `catalog/tables/${encodeURIComponent(name)}`;
}
