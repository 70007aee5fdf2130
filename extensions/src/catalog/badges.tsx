/**
 * The catalog's badges: classification, personal data (PII) and layer.
 */
import * as React from 'react';

/** Classification levels, least to most sensitive. */
export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'];

const CLASSIFICATION_HELP: { [key: string]: string } = {
  public: 'Public: may be shared outside the company',
  internal: 'Internal: for employees only',
  confidential: 'Confidential: need-to-know, do not share outside the team',
  restricted: 'Restricted: regulated or personal data, strictly limited access'
};

export function ClassificationBadge(props: {
  value: string | null | undefined;
}): JSX.Element | null {
  const value = (props.value || '').toLowerCase();
  if (!value) {
    return null;
  }
  const known = CLASSIFICATIONS.includes(value) ? value : 'unknown';
  return (
    <span
      className={`aw-Badge aw-Classification aw-Classification-${known}`}
      title={CLASSIFICATION_HELP[value] ?? `Classification: ${value}`}
      data-classification={value}
    >
      {value}
    </span>
  );
}

export function PiiBadge(props: { title?: string }): JSX.Element {
  return (
    <span
      className="aw-Badge aw-Pii"
      title={props.title ?? 'Contains personal data (PII)'}
      data-testid="pii-badge"
    >
      PII
    </span>
  );
}

export function LayerChip(props: { layer: string }): JSX.Element {
  return (
    <span className={`aw-LayerChip aw-Layer-${props.layer}`}>
      <span className="aw-LayerDot" />
      {props.layer}
    </span>
  );
}
