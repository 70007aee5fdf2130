/**
 * Calls of the jobs and schedule routes.
 */
import { requestAPI } from '../api';

import {
  IAudience,
  IAttemptLog,
  ICancelResponse,
  ICronPreview,
  INotebookScheduleInfo,
  IPipelineDetail,
  IPipelineList,
  IPipelineSummary,
  IPromoteRequest,
  IPromoteResponse,
  IRepairResponse,
  IRun,
  IRunDetail,
  IRunList
} from './types';

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`);
  return parts.length ? '?' + parts.join('&') : '';
}

/**
 * GET with `cache: 'no-cache'`: Jupyter's default `no-store` makes ServerConnection append
 * a bare timestamp to the query string (`?1712345678901`), which the routes that validate
 * their query strictly reject as an unknown parameter. `no-cache` still revalidates.
 */
function get<T>(path: string, init: RequestInit = {}): Promise<T> {
  return requestAPI<T>(path, { cache: 'no-cache', ...init });
}

function post<T>(path: string, body: any = {}): Promise<T> {
  return requestAPI<T>(path, {
    method: 'POST',
    cache: 'no-cache',
    body: JSON.stringify(body)
  });
}

export const jobs = {
  pipelines(): Promise<IPipelineList> {
    return get<IPipelineList>('jobs/pipelines');
  },
  pipeline(name: string): Promise<IPipelineDetail> {
    return get<IPipelineDetail>(`jobs/pipelines/${enc(name)}`);
  },
  trigger(name: string, parameters: Record<string, any> = {}): Promise<IRun> {
    return post<IRun>(`jobs/pipelines/${enc(name)}/trigger`, { parameters });
  },
  pause(name: string): Promise<IPipelineSummary> {
    return post<IPipelineSummary>(`jobs/pipelines/${enc(name)}/pause`);
  },
  resume(name: string): Promise<IPipelineSummary> {
    return post<IPipelineSummary>(`jobs/pipelines/${enc(name)}/resume`);
  },
  /** Approve a pipeline pending review (engineers and admins). */
  approve(name: string): Promise<IPipelineSummary> {
    return post<IPipelineSummary>(`jobs/pipelines/${enc(name)}/approve`);
  },
  /** Share the pipeline's reports (both lists empty: private again). */
  setAudience(name: string, audience: IAudience): Promise<IPipelineSummary> {
    return requestAPI<IPipelineSummary>(`jobs/pipelines/${enc(name)}/audience`, {
      method: 'PUT',
      cache: 'no-cache',
      body: JSON.stringify(audience)
    });
  },
  runs(pipeline: string, limit = 20): Promise<IRunList> {
    return get<IRunList>('jobs/runs' + query({ pipeline, limit }));
  },
  run(runId: string): Promise<IRunDetail> {
    return get<IRunDetail>(`jobs/runs/${enc(runId)}`);
  },
  log(runId: string, attemptId: number): Promise<IAttemptLog> {
    return get<IAttemptLog>(
      `jobs/runs/${enc(runId)}/attempts/${attemptId}/log`
    );
  },
  repair(runId: string): Promise<IRepairResponse> {
    return post<IRepairResponse>(`jobs/runs/${enc(runId)}/repair`);
  },
  cancel(runId: string): Promise<ICancelResponse> {
    return post<ICancelResponse>(`jobs/runs/${enc(runId)}/cancel`);
  }
};

export const schedule = {
  cron(cron: string, timezone: string, init?: RequestInit): Promise<ICronPreview> {
    return get<ICronPreview>(
      'schedule/cron' + query({ cron, timezone }),
      init
    );
  },
  notebook(path: string): Promise<INotebookScheduleInfo> {
    return get<INotebookScheduleInfo>(
      'schedule/notebook' + query({ path })
    );
  },
  promote(body: IPromoteRequest): Promise<IPromoteResponse> {
    return post<IPromoteResponse>('schedule/promote', body);
  }
};
