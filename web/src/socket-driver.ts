/**
 * Owns the one WebSocket and turns its events into reducer inputs. A generation number makes
 * events of a socket that has been replaced or closed by us harmless. No DOM: the socket
 * constructor and timers are passed in, so tests can drive it with fakes.
 */
import type { ChatInput } from './chat-state.js';
import { type ClientFrame, parseServerEvent } from './protocol.js';

export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface SocketDriverDeps {
  createSocket: (url: string) => SocketLike;
  dispatch: (input: ChatInput) => void;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (handle: unknown) => void;
  /** Called for frames that are not events this page knows (logged, then ignored). */
  onIgnoredFrame?: (data: unknown) => void;
}

const OPEN = 1;

export class SocketDriver {
  private socket: SocketLike | null = null;
  private generation = 0;
  private timer: unknown = null;
  private url = '';

  constructor(private readonly deps: SocketDriverDeps) {}

  /** The URL (with `Auth`) to use from now on. */
  setUrl(url: string): void {
    this.url = url;
  }

  /** Opens a new socket now or after `afterMs`, dropping any current one. */
  open(afterMs: number): void {
    this.cancelTimer();
    if (afterMs > 0) {
      this.timer = this.deps.setTimer(() => {
        this.timer = null;
        this.openNow();
      }, afterMs);
    } else {
      this.openNow();
    }
  }

  close(): void {
    this.cancelTimer();
    this.generation += 1;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, 'client disconnect');
  }

  /** Sends a frame if the socket is open; returns whether it was handed to the socket. */
  send(frame: ClientFrame): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
  }

  private openNow(): void {
    this.close();
    const generation = this.generation;
    const current = () => generation === this.generation;
    this.deps.dispatch({ kind: 'socket-connecting' });
    let socket: SocketLike;
    try {
      socket = this.deps.createSocket(this.url);
    } catch (error) {
      // A malformed URL throws synchronously; report it like a refused handshake.
      this.deps.dispatch({ kind: 'socket-closed', code: 1006, reason: String(error) });
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (current()) this.deps.dispatch({ kind: 'socket-open' });
    };
    socket.onmessage = (event) => {
      if (!current()) return;
      const parsed = parseServerEvent(event.data);
      if (parsed) this.deps.dispatch({ kind: 'server-event', event: parsed });
      else this.deps.onIgnoredFrame?.(event.data);
    };
    socket.onclose = (event) => {
      if (!current()) return;
      this.socket = null;
      this.deps.dispatch({ kind: 'socket-closed', code: event.code, reason: event.reason });
    };
    socket.onerror = () => {
      // Always followed by close; the close event carries what little the browser tells us.
    };
  }
}
