/**
 * The page's shell: reads the forms, feeds inputs to the pure reducer (chat-state.ts), carries
 * out its effects (socket, timers) and redraws. Bundled by web/build.ts into app.js.
 */
import { type ChatInput, type ChatState, type Effect, initialState, reduce } from './chat-state.js';
import { chooseEndpoint, foreignEndpointWarning, socketUrl } from './protocol.js';
import { findElements, Renderer } from './render.js';
import {
  authorizeUrl,
  challengeOf,
  exchangeCode,
  type FetchLike,
  localSignIn,
  newVerifier,
  parseSignInConfig,
  refreshTokens,
  renewDelay,
  type SignedIn,
} from './sign-in.js';
import { SocketDriver } from './socket-driver.js';

/** Set at build time (`buildWeb(dir, { endpoint })`); empty means "derive from the page". */
declare const __CHAT_ENDPOINT__: string;
/** Set at build time (`buildWeb(dir, { signIn })`): JSON of sign-in.ts's SignInConfig; empty = token mode. */
declare const __CHAT_SIGN_IN__: string;

/** The PKCE verifier and state, kept across the sign-in redirect (this tab only). */
const PKCE_KEY = 'chat.pkce';

const STORAGE = { endpoint: 'chat.endpoint', nickname: 'chat.nickname' };

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage may be disabled; the page works without it.
  }
}

function recall(key: string): string {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

function start(): void {
  const ui = findElements(document);
  const field = (id: string) => document.getElementById(id) as HTMLInputElement;
  const endpointInput = field('endpoint');
  const tokenInput = field('token');
  const usernameInput = field('username');
  const adminInput = field('admin');
  const nicknameInput = field('nickname');
  const signIn = parseSignInConfig(__CHAT_SIGN_IN__);
  const fetchJson: FetchLike = (url, init) => fetch(url, init);
  /** jwt mode: the signed-in user's tokens, in memory only. */
  let session: SignedIn | undefined;
  let renewTimer: ReturnType<typeof setTimeout> | undefined;
  const roomIdInput = field('room-id');

  let state: ChatState = initialState(recall(STORAGE.nickname));
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const driver = new SocketDriver({
    createSocket: (url) => new WebSocket(url),
    dispatch: (input) => dispatch(input),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    onIgnoredFrame: (data) => console.warn('Ignored a frame that is not a known event:', data),
  });

  const renderer = new Renderer(document, ui, {
    selectRoom: (roomId) => dispatch({ kind: 'select-room', roomId }),
    dismissBanner: (key) => dispatch({ kind: 'dismiss-banner', key }),
    dismissNotice: (key) => dispatch({ kind: 'dismiss-notice', key }),
  });

  function run(effect: Effect): void {
    switch (effect.type) {
      case 'open-socket':
        driver.open(effect.afterMs);
        return;
      case 'close-socket':
        driver.close();
        return;
      case 'send':
        // A socket that is closing will report its close next; the banner then tells the person.
        driver.send(effect.frame);
        return;
      case 'after': {
        const handle = setTimeout(() => {
          timers.delete(handle);
          dispatch(effect.input);
        }, effect.ms);
        timers.add(handle);
        return;
      }
    }
  }

  function dispatch(input: ChatInput): Effect[] {
    const result = reduce(state, input, { now: Date.now(), random: Math.random() });
    state = result.state;
    for (const effect of result.effects) run(effect);
    renderer.render(state, Date.now());
    return result.effects;
  }

  // The countdown in the "reconnecting in N s" banner.
  setInterval(() => {
    if (state.connection.status === 'waiting') renderer.render(state, Date.now());
  }, 1000);

  const choice = chooseEndpoint(location, __CHAT_ENDPOINT__);
  endpointInput.value = choice.endpoint || recall(STORAGE.endpoint);
  // A built-in endpoint is the only one this page's Content-Security-Policy lets it reach.
  endpointInput.readOnly = choice.source === 'built';
  const endpointWarning = document.getElementById('endpoint-warning') as HTMLElement;
  const showEndpointWarning = () => {
    endpointWarning.hidden = !choice.foreignHost || endpointInput.value.trim() !== choice.endpoint;
    endpointWarning.textContent = endpointWarning.hidden
      ? ''
      : foreignEndpointWarning(choice.foreignHost ?? '', location.host);
  };
  showEndpointWarning();
  endpointInput.addEventListener('input', showEndpointWarning);
  nicknameInput.value = state.nickname;

  function problem(text: string, focus?: HTMLElement): void {
    ui.connectProblem.hidden = false;
    ui.connectProblem.textContent = text;
    focus?.focus();
  }

  /** jwt mode: a fresh token a minute before the old one expires, for the reconnects to come. */
  function scheduleRenewal(endpoint: string, user: { username: string; admin: boolean }): void {
    clearTimeout(renewTimer);
    const current = session;
    if (!current || signIn.kind === 'token') return;
    renewTimer = setTimeout(
      async () => {
        try {
          if (signIn.kind === 'local') session = await localSignIn(fetchJson, signIn, user, Date.now());
          else if (current.refreshToken) {
            session = await refreshTokens(fetchJson, signIn, current.refreshToken, Date.now());
          } else return;
          driver.setUrl(socketUrl(endpoint, session.accessToken));
          scheduleRenewal(endpoint, user);
        } catch (error) {
          console.warn('Could not renew the sign-in:', (error as Error).message);
        }
      },
      renewDelay(current, Date.now()),
    );
  }

  ui.connectForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const endpoint = endpointInput.value;
    try {
      socketUrl(endpoint, '');
    } catch (error) {
      problem((error as Error).message, endpointInput);
      return;
    }
    const user = { username: usernameInput.value.trim(), admin: adminInput.checked };
    let token: string;
    if (signIn.kind === 'token') {
      token = tokenInput.value;
      if (!token) return problem('Enter the chat token you were given.', tokenInput);
    } else if (signIn.kind === 'local') {
      if (!user.username) return problem('Enter a username to sign in with.', usernameInput);
      try {
        session = await localSignIn(fetchJson, signIn, user, Date.now());
      } catch (error) {
        return problem((error as Error).message, usernameInput);
      }
      token = session.accessToken;
    } else {
      if (!session) return problem('Sign in first.', document.getElementById('sign-in') ?? undefined);
      token = session.accessToken;
    }
    // jwt mode: the nickname defaults to the name the token gives.
    const nickname = nicknameInput.value.trim() || session?.displayName || user.username;
    remember(STORAGE.endpoint, endpoint.trim());
    remember(STORAGE.nickname, nickname);
    ui.roomNickname.value = nickname;
    driver.setUrl(socketUrl(endpoint, token));
    scheduleRenewal(endpoint, user);
    dispatch({ kind: 'connect', nickname });
  });

  // Which sign-in the page was built for decides the fields the form shows.
  const tokenFields = document.getElementById('token-fields') as HTMLElement;
  const localFields = document.getElementById('local-sign-in') as HTMLElement;
  const oidcFields = document.getElementById('oidc-sign-in') as HTMLElement;
  const signedInAs = document.getElementById('signed-in-as') as HTMLElement;
  tokenFields.hidden = signIn.kind !== 'token';
  localFields.hidden = signIn.kind !== 'local';
  oidcFields.hidden = signIn.kind !== 'oidc';
  if (signIn.kind === 'oidc') {
    const redirectUri = `${location.origin}${location.pathname}`;
    document.getElementById('sign-in')?.addEventListener('click', async () => {
      const verifier = newVerifier((bytes) => crypto.getRandomValues(bytes));
      const state = newVerifier((bytes) => crypto.getRandomValues(bytes));
      remember(STORAGE.endpoint, endpointInput.value.trim());
      sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, redirectUri }));
      const challenge = await challengeOf(verifier, crypto.subtle);
      location.assign(authorizeUrl(signIn, { redirectUri, state, challenge }));
    });
    // Back from the provider: ?code=&state= (or ?error=).
    const query = new URLSearchParams(location.search);
    const code = query.get('code');
    const returned = query.get('state');
    const failed = query.get('error');
    if (code || failed) {
      const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? 'null') as {
        verifier: string;
        state: string;
        redirectUri: string;
      } | null;
      sessionStorage.removeItem(PKCE_KEY);
      history.replaceState(null, '', redirectUri);
      if (failed) problem(`Signing in did not succeed (${failed}).`);
      else if (!pending || pending.state !== returned)
        problem('That sign-in was not started here; sign in again.');
      else {
        exchangeCode(
          fetchJson,
          signIn,
          { code: code ?? '', verifier: pending.verifier, redirectUri },
          Date.now(),
        )
          .then((signedIn) => {
            session = signedIn;
            signedInAs.textContent = `Signed in as ${signedIn.displayName || 'you'}.`;
            if (!nicknameInput.value) nicknameInput.value = signedIn.displayName;
            ui.connectButton.focus();
          })
          .catch((error: unknown) => problem((error as Error).message));
      }
    }
  }

  ui.disconnect.addEventListener('click', () => dispatch({ kind: 'disconnect' }));
  ui.reconnectNow.addEventListener('click', () => dispatch({ kind: 'reconnect-now' }));

  document.getElementById('enter-form')?.addEventListener('submit', (event) => {
    event.preventDefault();
    const effects = dispatch({
      kind: 'enter-room',
      roomId: roomIdInput.value,
      nickname: ui.roomNickname.value,
    });
    if (effects.length > 0 || state.activeRoomId === roomIdInput.value.trim()) {
      roomIdInput.value = '';
      ui.message.focus();
    }
  });

  ui.leave.addEventListener('click', () => {
    if (state.activeRoomId) dispatch({ kind: 'exit-room', roomId: state.activeRoomId });
  });
  ui.reenter.addEventListener('click', () => {
    const room = state.rooms.find((r) => r.id === state.activeRoomId);
    if (room) dispatch({ kind: 'enter-room', roomId: room.id, nickname: room.nickname });
  });
  ui.membersToggle.addEventListener('click', () => {
    const open = ui.members.classList.toggle('open');
    ui.membersToggle.setAttribute('aria-expanded', String(open));
  });

  const composer = document.getElementById('composer') as HTMLFormElement;
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.message.value;
    const broadcast = /^\/broadcast\s+([\s\S]*)$/.exec(text);
    let taken = false;
    if (broadcast) {
      const effects = dispatch({ kind: 'send-broadcast', text: broadcast[1] ?? '' });
      taken = effects.some((e) => e.type === 'send');
    } else if (state.activeRoomId) {
      // Taken when sent now or queued behind the message still on its way (outbox).
      const before = state.notices.length;
      dispatch({ kind: 'send-message', roomId: state.activeRoomId, text });
      taken = state.notices.length === before;
    }
    if (taken) ui.message.value = '';
    ui.message.focus();
  });
  ui.message.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  // Coming back online: don't wait out the backoff.
  window.addEventListener('online', () => dispatch({ kind: 'reconnect-now' }));

  renderer.render(state, Date.now());
  // Token mode: the nickname, then the token. jwt mode: the username (the nickname defaults to it).
  const next =
    signIn.kind === 'local'
      ? usernameInput
      : signIn.kind === 'oidc' || !nicknameInput.value
        ? nicknameInput
        : tokenInput;
  (endpointInput.value ? next : endpointInput).focus();
}

start();
