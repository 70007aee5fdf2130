import { Signal } from '@lumino/signaling';

/**
 * Emitted after this browser changed a pipeline or run (trigger, pause, repair, cancel),
 * so every view refreshes at once instead of at its next poll.
 */
export const jobsChanged = new Signal<object, string>({});
