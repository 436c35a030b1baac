import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChatInput } from '../../web/src/chat-state';
import { SocketDriver, type SocketLike } from '../../web/src/socket-driver';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closedWith: number | undefined;
  onopen: SocketLike['onopen'] = null;
  onclose: SocketLike['onclose'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close(code?: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // What the browser would do:
  open() {
    this.readyState = 1;
    this.onopen?.({} as Event);
  }
  receive(data: unknown) {
    this.onmessage?.({ data } as MessageEvent);
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' } as CloseEvent);
  }
}

function setup() {
  const sockets: FakeSocket[] = [];
  const inputs: ChatInput[] = [];
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const driver = new SocketDriver({
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    dispatch: (input) => inputs.push(input),
    setTimer: (fn, ms) => {
      const timer = { fn, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle) => {
      (handle as { cleared: boolean }).cleared = true;
    },
  });
  driver.setUrl('ws://127.0.0.1:1/?Auth=t');
  return { driver, sockets, inputs, timers };
}

describe('SocketDriver', () => {
  it('reports open, parsed events and close as reducer inputs', () => {
    const { driver, sockets, inputs } = setup();
    driver.open(0);
    const socket = sockets[0] as FakeSocket;
    socket.open();
    socket.receive(JSON.stringify({ type: 'exited', id: 'e1', at: 'x', roomId: '1', seq: 1 }));
    socket.receive('garbage');
    socket.drop();
    expect(socket.url).toBe('ws://127.0.0.1:1/?Auth=t');
    expect(inputs).toEqual([
      { kind: 'socket-connecting' },
      { kind: 'socket-open' },
      { kind: 'server-event', event: { type: 'exited', id: 'e1', at: 'x', roomId: '1', seq: 1 } },
      { kind: 'socket-closed', code: 1006, reason: '' },
    ]);
  });

  it('opens after the delay, and a newer open cancels the pending one', () => {
    const { driver, sockets, timers } = setup();
    driver.open(500);
    driver.open(1000);
    expect(sockets).toHaveLength(0);
    expect(timers.map((t) => [t.ms, t.cleared])).toEqual([
      [500, true],
      [1000, false],
    ]);
    timers[1]?.fn();
    expect(sockets).toHaveLength(1);
  });

  it('ignores events from a socket it has closed itself', () => {
    const { driver, sockets, inputs } = setup();
    driver.open(0);
    const socket = sockets[0] as FakeSocket;
    socket.open();
    driver.close();
    socket.drop(1000);
    socket.receive(JSON.stringify({ type: 'exited', id: 'e1', at: 'x', roomId: '1', seq: 1 }));
    expect(socket.closedWith).toBe(1000);
    expect(inputs.map((i) => i.kind)).toEqual(['socket-connecting', 'socket-open']);
  });

  it('sends JSON frames only while the socket is open', () => {
    const { driver, sockets } = setup();
    driver.open(0);
    const socket = sockets[0] as FakeSocket;
    expect(driver.send({ action: 'exitroom', roomId: '1' })).toBe(false);
    socket.open();
    expect(driver.send({ action: 'exitroom', roomId: '1' })).toBe(true);
    expect(socket.sent).toEqual(['{"action":"exitroom","roomId":"1"}']);
  });
});

describe('web client sources', () => {
  it('never write HTML from strings (user text goes through textContent)', () => {
    const dir = path.join(__dirname, '../../web/src');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => {
        const source = readFileSync(path.join(dir, f), 'utf8');
        return /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|createContextualFragment/.test(
          source,
        )
          ? [f]
          : [];
      });
    expect(offenders).toEqual([]);
  });
});
