/**
 * Calls of the jobs and schedule routes.
 */
import { requestAPI } from '../api';

import {
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

function post<T>(path: string, body: any = {}): Promise<T> {
  return requestAPI<T>(path, { method: 'POST', body: JSON.stringify(body) });
}

export const jobs = {
  pipelines(): Promise<IPipelineList> {
    return requestAPI<IPipelineList>('jobs/pipelines');
  },
  pipeline(name: string): Promise<IPipelineDetail> {
    return requestAPI<IPipelineDetail>(`jobs/pipelines/${enc(name)}`);
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
  runs(pipeline: string, limit = 20): Promise<IRunList> {
    return requestAPI<IRunList>('jobs/runs' + query({ pipeline, limit }));
  },
  run(runId: string): Promise<IRunDetail> {
    return requestAPI<IRunDetail>(`jobs/runs/${enc(runId)}`);
  },
  log(runId: string, attemptId: number): Promise<IAttemptLog> {
    return requestAPI<IAttemptLog>(
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
    return requestAPI<ICronPreview>(
      'schedule/cron' + query({ cron, timezone }),
      init
    );
  },
  notebook(path: string): Promise<INotebookScheduleInfo> {
    return requestAPI<INotebookScheduleInfo>(
      'schedule/notebook' + query({ path })
    );
  },
  promote(body: IPromoteRequest): Promise<IPromoteResponse> {
    return post<IPromoteResponse>('schedule/promote', body);
  }
};
