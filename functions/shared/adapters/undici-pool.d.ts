/**
 * undici's connection pool on its own (see signed-connections-notifier.ts for why the package
 * index is not imported): the module exports the same Pool class as `undici`.
 */
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';

  const PoolClass: typeof Pool;
  export default PoolClass;
}
