/**
 * The Access panel's view model, without React or Lab: which requests the user can
 * decide, which are their own, how a status and a grant's expiry read, and who approves
 * a request. Tested in test/access.spec.ts.
 */
import type { Schemas } from '../api/types';

export type IAccessRequest = Schemas['AccessRequest'];
export type IAccessRequestView = Schemas['AccessRequestView'];
export type IAccessRequestBody = Schemas['AccessRequestBody'];
export type IAccessDecision = Schemas['AccessDecision'];
export type IAccessGrant = Schemas['GrantView'];

/** The panel's sections. */
export interface IAccessGroups {
  /** Pending requests of others that the user may approve or deny, oldest first. */
  toDecide: IAccessRequestView[];
  /** The user's own requests (any status), newest first. */
  mine: IAccessRequestView[];
}

/** Days a request asks for by default, and the service's bounds. */
export const DEFAULT_DAYS = 30;
export const MIN_DAYS = 1;
export const MAX_DAYS = 365;

const DAY_MS = 24 * 3600 * 1000;

function time(iso: string | null | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

/**
 * Split requests (from `GET access/requests`, possibly two lists merged) into the ones the
 * user can decide and their own. `me` is the user's name; null when unknown (outside a hub):
 * then every request the user cannot decide counts as theirs. A request is listed once.
 */
export function groupRequests(
  requests: ReadonlyArray<IAccessRequestView>,
  me: string | null
): IAccessGroups {
  const seen = new Set<number>();
  const toDecide: IAccessRequestView[] = [];
  const mine: IAccessRequestView[] = [];
  for (const r of requests) {
    if (seen.has(r.id)) {
      continue;
    }
    seen.add(r.id);
    const own = me !== null ? r.user === me : !r.can_decide;
    if (own) {
      mine.push(r);
    } else if (r.status === 'pending' && r.can_decide) {
      toDecide.push(r);
    }
  }
  toDecide.sort((a, b) => time(a.created_at) - time(b.created_at) || a.id - b.id);
  mine.sort((a, b) => time(b.created_at) - time(a.created_at) || b.id - a.id);
  return { toDecide, mine };
}

/** "Pending", "Approved by lee", "Denied by lee: not needed". */
export function statusLabel(r: IAccessRequest): string {
  if (r.status === 'pending') {
    return 'Pending';
  }
  const verb = r.status === 'approved' ? 'Approved' : 'Denied';
  const by = r.decided_by ? ` by ${r.decided_by}` : '';
  const note = r.note ? `: ${r.note}` : '';
  return `${verb}${by}${note}`;
}

/**
 * How a grant's end reads: "expires in 3 days", "expires in 5 hours", "expires in 12
 * minutes", "expired", "revoked by lee"; "ended" for an inactive grant without a reason.
 */
export function expiryLabel(grant: IAccessGrant, now: number = Date.now()): string {
  if (grant.revoked_at) {
    return grant.revoked_by ? `revoked by ${grant.revoked_by}` : 'revoked';
  }
  const end = time(grant.expires_at);
  const left = end - now;
  if (!end) {
    return grant.active ? 'active' : 'ended';
  }
  if (left <= 0) {
    return 'expired';
  }
  if (!grant.active) {
    return 'ended';
  }
  if (left >= 2 * DAY_MS) {
    return `expires in ${Math.floor(left / DAY_MS)} days`;
  }
  const hours = Math.floor(left / 3600000);
  if (hours >= 1) {
    return `expires in ${hours} hour${hours === 1 ? '' : 's'}`;
  }
  const minutes = Math.max(1, Math.floor(left / 60000));
  return `expires in ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** True when an active grant ends within `withinMs` (default: 3 days): shown in warning colour. */
export function expiresSoon(
  grant: IAccessGrant,
  now: number = Date.now(),
  withinMs = 3 * DAY_MS
): boolean {
  const end = time(grant.expires_at);
  return grant.active && !!end && end > now && end - now <= withinMs;
}

/**
 * Only the user's grants, their group's included (all of them when the user is unknown),
 * those ending first first.
 */
export function myGrants(grants: ReadonlyArray<IAccessGrant>, me: string | null): IAccessGrant[] {
  return grants
    .filter(g => me === null || g.user === me || (g.members ?? []).includes(me))
    .sort((a, b) => time(a.expires_at) - time(b.expires_at) || a.id - b.id);
}

/** Who decides a request on `target`: "alice (the owner) or the legal group". */
export function approversText(owner: string | null | undefined): string {
  const who = (owner ?? '').trim();
  return who && who !== 'legal' ? `${who} (the owner) or the legal group` : 'the legal group';
}

/**
 * Check the request form: a reason is required, days a whole number from 1 to 365.
 * Returns the body to POST, or the message to show.
 */
export function validateRequest(
  target: string,
  reason: string,
  days: string | number,
  rows = ''
): IAccessRequestBody | string {
  const t = target.trim();
  if (!t) {
    return 'Name the table (layer.table) or tier to request access to.';
  }
  const why = reason.trim();
  if (!why) {
    return 'Say why you need access: the approvers read the reason.';
  }
  const n = typeof days === 'number' ? days : Number(String(days).trim());
  if (!Number.isInteger(n) || n < MIN_DAYS || n > MAX_DAYS) {
    return `Days must be a whole number from ${MIN_DAYS} to ${MAX_DAYS}, not ${JSON.stringify(days)}.`;
  }
  return { target: t, reason: why, days: n, rows: rows.trim() || null };
}

/** Pull the table name out of an access refusal ("silver.x is confidential: request access ..."). */
export function refusedTable(message: string): string | null {
  const m = /^(\S+) is (\w+): request access/.exec(message.trim());
  return m ? m[1] : null;
}

/**
 * A stored target as people read it: `table:silver.x` is `silver.x`, `tier:restricted` is
 * `tier restricted` (as `workspace access list` prints it); anything else is unchanged.
 */
export function targetLabel(target: string): string {
  if (target.startsWith('table:')) {
    return target.slice('table:'.length);
  }
  if (target.startsWith('tier:')) {
    return `tier ${target.slice('tier:'.length)}`;
  }
  return target;
}

/** The table a stored target names, or null for a tier. */
export function targetTable(target: string): string | null {
  if (target.startsWith('tier:')) {
    return null;
  }
  return targetLabel(target);
}
