/**
 * The page's Content-Security-Policy, written by web/build.ts into index.html's
 * `<meta http-equiv="Content-Security-Policy">` (so it travels with the files wherever they are
 * hosted) and sent as a header by the local gateway (local/gateway/static-files.ts, which adds
 * `frame-ancestors 'none'`, a directive a meta tag cannot carry).
 *
 * No inline script or style, nothing from other origins. WebSockets: a page built with an
 * endpoint may connect to that endpoint's origin only, so no link can send its token elsewhere;
 * a page built without one lets the person choose (`?endpoint=`, the form), with a warning on
 * the page when a link names a host other than the page's own (web/src/protocol.ts).
 */
export function contentSecurityPolicy(endpoint = '', alsoConnectTo: string[] = []): string {
  // Plus what the page itself must reach, e.g. the sign-in service's token endpoint (jwt mode).
  const connect = [endpoint ? new URL(endpoint).origin : "'self' ws: wss:", ...alsoConnectTo].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

const META = /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/i;

/** index.html with its Content-Security-Policy meta set to `policy` (throws if it has none). */
export function withPolicy(html: string, policy: string): string {
  if (!META.test(html)) throw new Error('web/index.html has no Content-Security-Policy meta tag');
  return html.replace(META, (_match, open: string, close: string) => `${open}${policy}${close}`);
}

/** The policy of a built index.html's meta tag, if any. */
export function policyOf(html: string): string | undefined {
  return /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html)?.[1];
}
