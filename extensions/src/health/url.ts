/**
 * Where the platform health page is: the reports service behind the hub, on the Lab's own
 * origin (so the tab may frame it). Outside a hub there is no reports service.
 */

/**
 * The health page's URL for a Lab whose hub prefix is `hubPrefix` (PageConfig `hubPrefix`,
 * e.g. `/hub/` or `/jupyter/hub/`), or `null` when the Lab does not run under a hub.
 *
 * ```ts
 * healthUrl('/hub/');          // '/services/reports/health'
 * healthUrl('/jupyter/hub/');  // '/jupyter/services/reports/health'
 * healthUrl('');               // null
 * ```
 */
export function healthUrl(hubPrefix: string | undefined | null): string | null {
  if (!hubPrefix) {
    return null;
  }
  const prefix = hubPrefix.endsWith('/') ? hubPrefix : hubPrefix + '/';
  const base = prefix.replace(/hub\/$/, '');
  return `${base}services/reports/health`;
}
