/**
 * Why someone left a room: exitroom, a $disconnect, or a connection the fanout found gone (410).
 * A module of its own, without dependencies, so the web page checks the same list.
 */
export const LEAVE_REASONS = ['exit', 'disconnect', 'gone'] as const;
export type LeaveReason = (typeof LEAVE_REASONS)[number];
