/**
 * The page's shell: reads the forms, feeds inputs to the pure reducer (chat-state.ts), carries
 * out its effects (socket, timers) and redraws. Bundled by web/build.ts into app.js.
 */
import { type ChatInput, type ChatState, type Effect, initialState, reduce } from './chat-state.js';
import { chooseEndpoint, foreignEndpointWarning, socketUrl } from './protocol.js';
import { findElements, Renderer } from './render.js';
import { SocketDriver } from './socket-driver.js';

/** Set at build time (`buildWeb(dir, { endpoint })`); empty means "derive from the page". */
declare const __CHAT_ENDPOINT__: string;

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
  const nicknameInput = field('nickname');
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

  ui.connectForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const nickname = nicknameInput.value.trim();
    const token = tokenInput.value;
    let url: string;
    try {
      url = socketUrl(endpointInput.value, token);
    } catch (error) {
      ui.connectProblem.hidden = false;
      ui.connectProblem.textContent = (error as Error).message;
      endpointInput.focus();
      return;
    }
    if (!token) {
      ui.connectProblem.hidden = false;
      ui.connectProblem.textContent = 'Enter the chat token you were given.';
      tokenInput.focus();
      return;
    }
    remember(STORAGE.endpoint, endpointInput.value.trim());
    remember(STORAGE.nickname, nickname);
    ui.roomNickname.value = nickname;
    driver.setUrl(url);
    dispatch({ kind: 'connect', nickname });
  });

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
    let effects: Effect[] = [];
    if (broadcast) {
      effects = dispatch({ kind: 'send-broadcast', text: broadcast[1] ?? '' });
    } else if (state.activeRoomId) {
      effects = dispatch({ kind: 'send-message', roomId: state.activeRoomId, text });
    }
    if (effects.some((e) => e.type === 'send')) ui.message.value = '';
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
  (endpointInput.value ? (nicknameInput.value ? tokenInput : nicknameInput) : endpointInput).focus();
}

start();
