/**
 * The client of the server routes: one `requestAPI`, the `catalog`, `jobs` and
 * `schedule` calls, one error type, and the payload types generated from the
 * OpenAPI document.
 */
export * from './client';
export * from './errors';
export * from './types';
