import { classifyBody, isLowering, resultText } from '../src/catalog/detail/classifymodel';
import type { IClassifyView } from '../src/catalog/detail/classifymodel';

function view(over: Partial<IClassifyView> = {}): IClassifyView {
  return {
    table: 'silver.customers',
    tier: 'internal',
    tiers: [
      { name: 'public', protected: false, encrypted: false },
      { name: 'internal', protected: false, encrypted: false },
      { name: 'confidential', protected: true, encrypted: false },
      { name: 'restricted', protected: true, encrypted: true }
    ],
    masks: ['hash', 'redact', 'partial', 'generalise'],
    default_mask: 'hash',
    pii: {},
    may_classify: true,
    may_lower: false,
    why_not: null,
    ...over
  };
}

describe('classifyBody', () => {
  it('sends the tier and the PII columns with their masks', () => {
    const choices = [
      { column: 'name', pii: true, mask: 'hash' },
      { column: 'phone', pii: true, mask: 'partial' },
      { column: 'id', pii: false, mask: 'hash' }
    ];
    expect(classifyBody(view(), 'confidential', choices, false)).toEqual({
      table: 'silver.customers',
      tier: 'confidential',
      pii: { name: 'hash', phone: 'partial' },
      approve: false,
      owner: null,
      description: null
    });
  });

  it('refuses what the service would refuse, in one line', () => {
    expect(classifyBody(view(), 'secret', [], false)).toMatch(/Choose a tier: public, internal/);
    expect(classifyBody(view(), 'public', [], true)).toMatch(/approved by the legal group/);
    expect(classifyBody(view({ may_lower: true }), 'public', [], false)).toMatch(
      /needs your approval/
    );
    expect(
      classifyBody(view(), 'confidential', [{ column: 'x', pii: true, mask: 'blur' }], false)
    ).toMatch(/Unknown mask "blur" for x/);
  });

  it('approves a lowering only when the legal group ticks it', () => {
    const body = classifyBody(
      view({ may_lower: true, tier: 'confidential' }),
      'internal',
      [],
      true
    );
    expect(body).toMatchObject({ tier: 'internal', approve: true });
    expect(isLowering(view({ tier: 'restricted' }), 'confidential')).toBe(true);
    expect(isLowering(view(), 'restricted')).toBe(false);
  });
});

describe('resultText', () => {
  it('says what moved and what analysts read', () => {
    expect(
      resultText({
        table: 'silver.customers',
        old_tier: 'internal',
        tier: 'confidential',
        moved: 'in',
        masked: 'silver.customers_masked',
        purged_files: 3,
        encrypted: false
      })
    ).toBe(
      'silver.customers: internal → confidential, and moved into its own protected lake. ' +
        '3 file(s) of its earlier snapshots were removed. ' +
        'Analysts read silver.customers_masked, its PII masked.'
    );
  });
});
