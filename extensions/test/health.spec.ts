import { healthUrl } from '../src/health/url';

describe('healthUrl', () => {
  it('is the reports service next to the hub prefix', () => {
    expect(healthUrl('/hub/')).toBe('/services/reports/health');
    expect(healthUrl('/jupyter/hub/')).toBe('/jupyter/services/reports/health');
    expect(healthUrl('/jupyter/hub')).toBe('/jupyter/services/reports/health');
  });
  it('is null outside a hub', () => {
    expect(healthUrl('')).toBeNull();
    expect(healthUrl(undefined)).toBeNull();
  });
});
