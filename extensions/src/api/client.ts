/**
 * The one REST client of the `workspace.server` jupyter_server extension:
 * catalog, jobs and schedule routes, all under `{base_url}workspace/api/`.
 *
 * The contract is docs/extension-api.md and workspace/server/openapi.yaml (the
 * payload types are generated from it, see `types.ts`). Every call throws an
 * `APIError` (see `errors.ts`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { abortedError, errorFromResponse, parseBody, unreachableError } from './errors';
import type {
  IAttemptLog,
  IAudience,
  ICancelResponse,
  ICronPreview,
  ILayersResponse,
  INotebookScheduleInfo,
  IPipelineDetail,
  IPipelineList,
  IPipelineSummary,
  IPreviewResponse,
  IPromoteRequest,
  IPromoteResponse,
  IRepairResponse,
  IRun,
  IRunDetail,
  IRunList,
  ITableDetail,
  ITableProfile,
  ITablesResponse,
  Schemas
} from './types';

/** Prefix of every route of the server extension, relative to base_url. */
export const API_PREFIX = 'workspace/api/';

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
export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
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
      throw abortedError();
    }
    throw unreachableError();
  }
  const body = parseBody(await response.text());
  if (!response.ok) {
    throw errorFromResponse(response.status, response.statusText, body);
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

const enc = encodeURIComponent;

/** URL path segment of a table route: `catalog/tables/bronze.orders`. */
export function tablePath(name: string): string {
  return `catalog/tables/${enc(name)}`;
}

function get<T>(path: string, init: RequestInit = {}): Promise<T> {
  return requestAPI<T>(path, init);
}

function send<T>(method: 'POST' | 'PUT', path: string, body: any = {}): Promise<T> {
  return requestAPI<T>(path, { method, body: JSON.stringify(body) });
}

/** Options of the catalog reads: an AbortSignal. */
type Init = { signal?: AbortSignal };

/** `catalog/...` routes. */
export const catalog = {
  layers(init?: Init): Promise<ILayersResponse> {
    return get('catalog/layers', init);
  },
  tables(
    params: { layer?: string; q?: string; offset: number; limit: number },
    init?: Init
  ): Promise<ITablesResponse> {
    return get('catalog/tables' + query(params), init);
  },
  table(name: string, at: number | null = null, init?: Init): Promise<ITableDetail> {
    return get(tablePath(name) + query({ at }), init);
  },
  preview(
    name: string,
    params: { offset: number; limit: number; at: number | null },
    init?: Init
  ): Promise<IPreviewResponse> {
    return get(`${tablePath(name)}/preview` + query(params), init);
  },
  profile(name: string, refresh: boolean, init?: Init): Promise<ITableProfile> {
    return get(
      `${tablePath(name)}/profile` + query({ refresh: refresh ? 'true' : undefined }),
      init
    );
  }
};

/** `jobs/...` routes: pipelines and runs. */
export const jobs = {
  pipelines(): Promise<IPipelineList> {
    return get('jobs/pipelines');
  },
  pipeline(name: string): Promise<IPipelineDetail> {
    return get(`jobs/pipelines/${enc(name)}`);
  },
  trigger(name: string, parameters: Record<string, any> = {}): Promise<IRun> {
    return send('POST', `jobs/pipelines/${enc(name)}/trigger`, { parameters });
  },
  pause(name: string): Promise<IPipelineSummary> {
    return send('POST', `jobs/pipelines/${enc(name)}/pause`);
  },
  resume(name: string): Promise<IPipelineSummary> {
    return send('POST', `jobs/pipelines/${enc(name)}/resume`);
  },
  /** Approve a pipeline pending review (engineers and admins). */
  approve(name: string): Promise<IPipelineSummary> {
    return send('POST', `jobs/pipelines/${enc(name)}/approve`);
  },
  /** Share the pipeline's reports (both lists empty: private again). */
  setAudience(name: string, audience: IAudience): Promise<IPipelineSummary> {
    return send('PUT', `jobs/pipelines/${enc(name)}/audience`, audience);
  },
  runs(pipeline: string, limit = 20): Promise<IRunList> {
    return get('jobs/runs' + query({ pipeline, limit }));
  },
  run(runId: string): Promise<IRunDetail> {
    return get(`jobs/runs/${enc(runId)}`);
  },
  log(runId: string, attemptId: number): Promise<IAttemptLog> {
    return get(`jobs/runs/${enc(runId)}/attempts/${attemptId}/log`);
  },
  repair(runId: string): Promise<IRepairResponse> {
    return send('POST', `jobs/runs/${enc(runId)}/repair`);
  },
  cancel(runId: string): Promise<ICancelResponse> {
    return send('POST', `jobs/runs/${enc(runId)}/cancel`);
  }
};

/** `schedule/...` routes: "Schedule this notebook". */
export const schedule = {
  cron(cron: string, timezone: string, init?: Init): Promise<ICronPreview> {
    return get('schedule/cron' + query({ cron, timezone }), init);
  },
  notebook(path: string): Promise<INotebookScheduleInfo> {
    return get('schedule/notebook' + query({ path }));
  },
  promote(body: IPromoteRequest): Promise<IPromoteResponse> {
    return send('POST', 'schedule/promote', body);
  }
};

/** `jobs/access/...` routes: requests for access to protected tables, and grants. */
export const access = {
  /** Requests: `pending` by default; `user` only that user's. */
  requests(
    params: { status?: 'pending' | 'approved' | 'denied' | 'all'; user?: string } = {},
    init?: Init
  ): Promise<Schemas['AccessRequestList']> {
    return get('jobs/access/requests' + query(params), init);
  },
  request(body: Schemas['AccessRequestBody']): Promise<Schemas['AccessRequest']> {
    return send('POST', 'jobs/access/requests', body);
  },
  approve(id: number, note: string | null = null): Promise<Schemas['GrantView']> {
    return send('POST', `jobs/access/requests/${id}/approve`, { note });
  },
  deny(id: number, note: string | null = null): Promise<Schemas['AccessRequest']> {
    return send('POST', `jobs/access/requests/${id}/deny`, { note });
  },
  grants(
    params: { user?: string; table?: string; ended?: boolean } = {},
    init?: Init
  ): Promise<Schemas['GrantList']> {
    return get('jobs/access/grants' + query(params), init);
  }
};

/** `jobs/governance/classify`: a table's tier and PII masks (its owner and the legal group). */
export const governance = {
  /** The tiers, the masks, the table's classification and what the caller may change. */
  classification(table: string, init?: Init): Promise<Schemas['ClassifyView']> {
    return get('jobs/governance/classify' + query({ table }), init);
  },
  classify(body: Schemas['ClassifyBody']): Promise<Schemas['ClassifyResult']> {
    return send('POST', 'jobs/governance/classify', body);
  }
};
