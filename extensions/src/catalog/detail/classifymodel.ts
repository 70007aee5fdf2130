/**
 * The pure part of the Classify dialog: what to send for the choices made, and how to
 * tell the result. Tested in test/classify.spec.ts.
 */
import type { Schemas } from '../../api';

export type IClassifyView = Schemas['ClassifyView'];
export type IClassifyBody = Schemas['ClassifyBody'];
export type IClassifyResult = Schemas['ClassifyResult'];

/** One column's choice in the dialog: PII or not, and its mask. */
export interface IPiiChoice {
  column: string;
  pii: boolean;
  mask: string;
}

/** Whether `tier` is lower than the table's current tier (that needs the legal group). */
export function isLowering(view: IClassifyView, tier: string): boolean {
  const rank = (t: string) => view.tiers.findIndex(x => x.name === t);
  return rank(tier) < rank(view.tier);
}

/** The body to POST, or what is wrong with the choices (one line). */
export function classifyBody(
  view: IClassifyView,
  tier: string,
  choices: IPiiChoice[],
  approve: boolean
): IClassifyBody | string {
  if (!view.tiers.some(t => t.name === tier)) {
    return `Choose a tier: ${view.tiers.map(t => t.name).join(', ')}.`;
  }
  const lowering = isLowering(view, tier);
  if (lowering && !view.may_lower) {
    return `Lowering ${view.table} from ${view.tier} to ${tier} is approved by the legal group.`;
  }
  if (lowering && !approve) {
    return `Lowering ${view.table} from ${view.tier} to ${tier} needs your approval: tick "Approve lowering".`;
  }
  const pii: { [column: string]: string } = {};
  for (const c of choices) {
    if (c.pii) {
      if (!view.masks.includes(c.mask)) {
        return `Unknown mask ${JSON.stringify(c.mask)} for ${c.column}: use ${view.masks.join(', ')}.`;
      }
      pii[c.column] = c.mask;
    }
  }
  return { table: view.table, tier, pii, approve: lowering, owner: null, description: null };
}

/** What the classification did, in one sentence. */
export function resultText(r: IClassifyResult): string {
  const moved: { [k: string]: string } = {
    in: ', and moved into its own protected lake',
    out: ', and moved back to the shared lake',
    encrypted: ', and rewritten encrypted',
    decrypted: ', and rewritten unencrypted'
  };
  const parts = [`${r.table}: ${r.old_tier} → ${r.tier}${moved[r.moved ?? ''] ?? ''}.`];
  if (r.purged_files) {
    parts.push(`${r.purged_files} file(s) of its earlier snapshots were removed.`);
  }
  if (r.masked) {
    parts.push(`Analysts read ${r.masked}, its PII masked.`);
  }
  return parts.join(' ');
}
