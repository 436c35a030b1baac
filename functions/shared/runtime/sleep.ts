/** Resolves after `ms` milliseconds (the one sleep of the functions and the local stack). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
