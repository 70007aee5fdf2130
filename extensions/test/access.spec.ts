import {
  IAccessGrant,
  IAccessRequestView,
  approversText,
  expiresSoon,
  expiryLabel,
  groupRequests,
  myGrants,
  refusedTable,
  statusLabel,
  targetLabel,
  targetTable,
  validateRequest
} from '../src/access/model';

function req(over: Partial<IAccessRequestView>): IAccessRequestView {
  return {
    id: 1,
    user: 'ana',
    target: 'silver.customers',
    reason: 'churn study',
    days: 30,
    status: 'pending',
    created_at: '2026-03-01T10:00:00Z',
    decided_by: null,
    decided_at: null,
    note: null,
    rows: null,
    can_decide: false,
    ...over
  };
}

function grant(over: Partial<IAccessGrant>): IAccessGrant {
  return {
    id: 1,
    user: 'ana',
    target: 'silver.customers',
    tables: ['silver.customers'],
    granted_by: 'lee',
    request_id: 1,
    reason: 'churn study',
    created_at: '2026-03-01T10:00:00Z',
    expires_at: '2026-03-31T10:00:00Z',
    active: true,
    ended: null,
    revoked_at: null,
    revoked_by: null,
    last_used: null,
    rows: null,
    members: null,
    ...over
  };
}

const NOW = Date.parse('2026-03-10T10:00:00Z');

describe('groupRequests', () => {
  const list = [
    req({ id: 3, user: 'bob', can_decide: true, created_at: '2026-03-03T00:00:00Z' }),
    req({ id: 2, user: 'cy', can_decide: true, created_at: '2026-03-02T00:00:00Z' }),
    req({ id: 5, user: 'ana', status: 'approved', created_at: '2026-03-05T00:00:00Z' }),
    req({ id: 4, user: 'ana', created_at: '2026-03-04T00:00:00Z' }),
    req({ id: 6, user: 'dan', can_decide: true, status: 'denied' }),
    req({ id: 7, user: 'eve', can_decide: false })
  ];

  it('puts decidable pending requests of others first, oldest first', () => {
    const g = groupRequests(list, 'ana');
    expect(g.toDecide.map(r => r.id)).toEqual([2, 3]);
  });

  it('lists the user own requests of any status, newest first', () => {
    expect(groupRequests(list, 'ana').mine.map(r => r.id)).toEqual([5, 4]);
  });

  it('lists a request once when both lists hold it', () => {
    const g = groupRequests([...list, ...list], 'ana');
    expect(g.toDecide).toHaveLength(2);
    expect(g.mine).toHaveLength(2);
  });

  it('never offers the user their own request to decide', () => {
    const g = groupRequests([req({ id: 9, user: 'ana', can_decide: true })], 'ana');
    expect(g.toDecide).toEqual([]);
    expect(g.mine.map(r => r.id)).toEqual([9]);
  });

  it('without a user name, what one cannot decide counts as one own', () => {
    const g = groupRequests(list, null);
    expect(g.toDecide.map(r => r.id)).toEqual([2, 3]);
    expect(g.mine.map(r => r.id)).toEqual([5, 4, 7]);
  });
});

describe('statusLabel', () => {
  it('says pending, or who decided and their note', () => {
    expect(statusLabel(req({}))).toBe('Pending');
    expect(statusLabel(req({ status: 'approved', decided_by: 'lee' }))).toBe('Approved by lee');
    expect(
      statusLabel(req({ status: 'denied', decided_by: 'lee', note: 'use the masked view' }))
    ).toBe('Denied by lee: use the masked view');
    expect(statusLabel(req({ status: 'denied' }))).toBe('Denied');
  });
});

describe('expiryLabel', () => {
  it('counts whole days, then hours, then minutes', () => {
    expect(expiryLabel(grant({}), NOW)).toBe('expires in 21 days');
    expect(expiryLabel(grant({ expires_at: '2026-03-11T12:00:00Z' }), NOW)).toBe(
      'expires in 26 hours'
    );
    expect(expiryLabel(grant({ expires_at: '2026-03-10T11:00:00Z' }), NOW)).toBe(
      'expires in 1 hour'
    );
    expect(expiryLabel(grant({ expires_at: '2026-03-10T10:00:30Z' }), NOW)).toBe(
      'expires in 1 minute'
    );
    expect(expiryLabel(grant({ expires_at: '2026-03-10T10:45:00Z' }), NOW)).toBe(
      'expires in 45 minutes'
    );
  });

  it('says expired, revoked or ended', () => {
    expect(expiryLabel(grant({ expires_at: '2026-03-09T10:00:00Z', active: false }), NOW)).toBe(
      'expired'
    );
    expect(
      expiryLabel(
        grant({ revoked_at: '2026-03-05T00:00:00Z', revoked_by: 'lee', active: false }),
        NOW
      )
    ).toBe('revoked by lee');
    expect(expiryLabel(grant({ active: false }), NOW)).toBe('ended');
  });

  it('flags grants ending within three days', () => {
    expect(expiresSoon(grant({}), NOW)).toBe(false);
    expect(expiresSoon(grant({ expires_at: '2026-03-12T10:00:00Z' }), NOW)).toBe(true);
    expect(expiresSoon(grant({ expires_at: '2026-03-09T10:00:00Z' }), NOW)).toBe(false);
  });
});

describe('myGrants', () => {
  it('keeps the user grants, those ending first first', () => {
    const all = [
      grant({ id: 1, expires_at: '2026-04-01T00:00:00Z' }),
      grant({ id: 2, user: 'bob' }),
      grant({ id: 3, expires_at: '2026-03-15T00:00:00Z' })
    ];
    expect(myGrants(all, 'ana').map(g => g.id)).toEqual([3, 1]);
    expect(myGrants(all, null).map(g => g.id)).toEqual([3, 2, 1]);
  });

  it("keeps the grants of the user's group", () => {
    const all = [
      grant({ id: 4, user: 'group:analysts', members: ['ana', 'bo'] }),
      grant({ id: 5, user: 'group:scientists', members: ['cy'] })
    ];
    expect(myGrants(all, 'ana').map(g => g.id)).toEqual([4]);
  });
});

describe('approversText', () => {
  it('names the owner and the legal group', () => {
    expect(approversText('alice')).toBe('alice (the owner) or the legal group');
    expect(approversText('legal')).toBe('the legal group');
    expect(approversText(null)).toBe('the legal group');
    expect(approversText(' ')).toBe('the legal group');
  });
});

describe('validateRequest', () => {
  it('returns the body to send', () => {
    expect(validateRequest(' silver.customers ', ' churn ', '7')).toEqual({
      target: 'silver.customers',
      reason: 'churn',
      days: 7,
      rows: null
    });
  });

  it('sends a row filter only when one is typed', () => {
    expect(validateRequest('silver.orders', 'eu', 7, "  region = 'EUROPE' ")).toEqual({
      target: 'silver.orders',
      reason: 'eu',
      days: 7,
      rows: "region = 'EUROPE'"
    });
    expect(validateRequest('silver.orders', 'eu', 7, '   ')).toHaveProperty('rows', null);
  });

  it('refuses a missing reason or target, and days out of 1..365', () => {
    expect(validateRequest('silver.customers', '  ', 7)).toMatch(/Say why/);
    expect(validateRequest('', 'x', 7)).toMatch(/Name the table/);
    expect(validateRequest('t', 'x', '0')).toMatch(/from 1 to 365/);
    expect(validateRequest('t', 'x', '366')).toMatch(/from 1 to 365/);
    expect(validateRequest('t', 'x', '2.5')).toMatch(/from 1 to 365, not "2.5"/);
  });
});

describe('refusedTable', () => {
  it('finds the table in an access refusal', () => {
    expect(
      refusedTable(
        'silver.customers is confidential: request access with `workspace access request silver.customers`'
      )
    ).toBe('silver.customers');
    expect(refusedTable('Table silver.x does not exist')).toBeNull();
  });
});

describe('targetLabel', () => {
  it('reads a stored target as the CLI prints it', () => {
    expect(targetLabel('table:silver.customers')).toBe('silver.customers');
    expect(targetLabel('tier:restricted')).toBe('tier restricted');
    expect(targetLabel('silver.customers')).toBe('silver.customers');
    expect(targetTable('table:silver.customers')).toBe('silver.customers');
    expect(targetTable('tier:restricted')).toBeNull();
  });
});
