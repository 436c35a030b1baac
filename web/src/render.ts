/**
 * Draws the state into the page. Every piece of text that came from a user or the server is
 * set with `textContent` (never innerHTML), so a message like `<img onerror=…>` stays text.
 * The message log is keyed by line: new lines are appended, old ones are left alone.
 */
import type { ChatState, Line, Room } from './chat-state.js';
import { totalUnread } from './chat-state.js';

export interface Elements {
  status: HTMLElement;
  disconnect: HTMLButtonElement;
  connBanner: HTMLElement;
  connText: HTMLElement;
  reconnectNow: HTMLButtonElement;
  broadcasts: HTMLElement;
  notices: HTMLElement;
  connectView: HTMLElement;
  connectForm: HTMLFormElement;
  connectProblem: HTMLElement;
  connectButton: HTMLButtonElement;
  chatView: HTMLElement;
  roomList: HTMLElement;
  noRooms: HTMLElement;
  roomNickname: HTMLInputElement;
  room: HTMLElement;
  roomTitle: HTMLElement;
  roomState: HTMLElement;
  membersToggle: HTMLButtonElement;
  reenter: HTMLButtonElement;
  leave: HTMLButtonElement;
  log: HTMLElement;
  message: HTMLTextAreaElement;
  send: HTMLButtonElement;
  members: HTMLElement;
  memberList: HTMLElement;
}

export function findElements(doc: Document): Elements {
  const get = <T extends HTMLElement>(id: string): T => {
    const element = doc.getElementById(id);
    if (!element) throw new Error(`index.html has no #${id}`);
    return element as T;
  };
  return {
    status: get('status'),
    disconnect: get('disconnect'),
    connBanner: get('conn-banner'),
    connText: get('conn-text'),
    reconnectNow: get('reconnect-now'),
    broadcasts: get('broadcasts'),
    notices: get('notices'),
    connectView: get('connect-view'),
    connectForm: get('connect-form'),
    connectProblem: get('connect-problem'),
    connectButton: get('connect'),
    chatView: get('chat-view'),
    roomList: get('room-list'),
    noRooms: get('no-rooms'),
    roomNickname: get('room-nickname'),
    room: get('room'),
    roomTitle: get('room-title'),
    roomState: get('room-state'),
    membersToggle: get('members-toggle'),
    reenter: get('reenter'),
    leave: get('leave'),
    log: get('log'),
    message: get('message'),
    send: get('send'),
    members: get('members'),
    memberList: get('member-list'),
  };
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const element = doc.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

function timeElement(doc: Document, at: string): HTMLTimeElement {
  const time = el(doc, 'time', 'time');
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return time;
  time.dateTime = at;
  time.textContent = timeFormat.format(date);
  time.title = fullFormat.format(date);
  return time;
}

function lineElement(doc: Document, line: Line): HTMLLIElement {
  const item = el(doc, 'li', `line ${line.kind}${line.own ? ' own' : ''}`);
  item.dataset.key = line.key;
  if (line.kind === 'message') {
    const meta = el(doc, 'div', 'meta');
    meta.append(el(doc, 'span', 'from', line.from ?? ''));
    if (line.own) meta.append(el(doc, 'span', 'you', '(you)'));
    meta.append(timeElement(doc, line.at));
    item.append(meta, el(doc, 'p', 'text', line.text));
  } else {
    item.append(el(doc, 'span', 'text', line.text), timeElement(doc, line.at));
  }
  return item;
}

const ROOM_STATE_TEXT: Record<Room['status'], string> = {
  entering: 'entering…',
  joined: '',
  rejoining: 'offline',
  leaving: 'leaving…',
  out: 'not in room',
};

export class Renderer {
  private renderedRoom: string | null = null;
  private renderedKeys: string[] = [];
  private renderedMembers = '';
  private renderedRoomList = '';

  /** Whether the log follows new lines; false once the person scrolls up to read. */
  private pinned = true;

  constructor(
    private readonly doc: Document,
    private readonly ui: Elements,
    private readonly handlers: {
      selectRoom(roomId: string): void;
      dismissBanner(key: string): void;
      dismissNotice(key: string): void;
    },
  ) {
    ui.log.addEventListener('scroll', () => {
      const log = ui.log;
      this.pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
    });
  }

  render(state: ChatState, now: number): void {
    this.renderConnection(state, now);
    this.renderBanners(state);
    this.renderNotices(state);
    this.renderRooms(state);
    this.renderActiveRoom(state);
    const unread = totalUnread(state);
    this.doc.title = unread > 0 ? `(${unread}) Chat` : 'Chat';
  }

  private renderConnection(state: ChatState, now: number): void {
    const { ui } = this;
    const c = state.connection;
    const inChat =
      state.everOpened && (c.status === 'open' || c.status === 'waiting' || c.status === 'connecting');
    ui.chatView.hidden = !inChat;
    ui.connectView.hidden = inChat;
    ui.disconnect.hidden = !inChat;
    ui.status.dataset.status = c.status;

    const statusText: Record<ChatState['connection']['status'], string> = {
      idle: 'Not connected',
      connecting: state.everOpened ? 'Reconnecting…' : 'Connecting…',
      open: 'Connected',
      waiting: 'Offline',
      rejected: 'Rejected',
      closed: 'Disconnected',
    };
    ui.status.textContent = statusText[c.status];

    ui.connectButton.disabled = c.status === 'connecting';
    ui.connectButton.textContent = c.status === 'connecting' ? 'Connecting…' : 'Connect';
    const problem = c.status === 'rejected' || c.status === 'closed' ? c.reason : '';
    ui.connectProblem.hidden = problem === '';
    ui.connectProblem.textContent = problem;
    ui.connectProblem.classList.toggle('info', c.status === 'closed' && c.reason === 'You disconnected.');

    if (c.status === 'waiting') {
      const seconds = Math.max(0, Math.ceil((c.retryAt - now) / 1000));
      ui.connText.textContent = `${c.reason} Reconnecting in ${seconds} s (attempt ${c.attempt})…`;
      ui.connBanner.hidden = false;
      ui.reconnectNow.hidden = false;
    } else if (c.status === 'connecting' && state.everOpened) {
      ui.connText.textContent = `Reconnecting (attempt ${c.attempt})…`;
      ui.connBanner.hidden = false;
      ui.reconnectNow.hidden = true;
    } else {
      ui.connBanner.hidden = true;
    }
  }

  private renderBanners(state: ChatState): void {
    const { doc, ui } = this;
    const keys = state.banners.map((b) => b.key).join('\n');
    if (ui.broadcasts.dataset.keys === keys) return;
    ui.broadcasts.dataset.keys = keys;
    ui.broadcasts.replaceChildren(
      ...state.banners.map((banner) => {
        const box = el(doc, 'div', 'broadcast');
        box.dataset.key = banner.key;
        const body = el(doc, 'p', 'broadcast-body');
        body.append(el(doc, 'strong', 'broadcast-from', `Announcement from ${banner.from}: `));
        body.append(el(doc, 'span', 'broadcast-text', banner.message), ' ', timeElement(doc, banner.at));
        const close = el(doc, 'button', 'button quiet small', 'Dismiss');
        close.type = 'button';
        close.setAttribute('aria-label', `Dismiss announcement from ${banner.from}`);
        close.addEventListener('click', () => this.handlers.dismissBanner(banner.key));
        box.append(body, close);
        return box;
      }),
    );
  }

  private renderNotices(state: ChatState): void {
    const { doc, ui } = this;
    const keys = state.notices.map((n) => n.key).join('\n');
    if (ui.notices.dataset.keys === keys) return;
    ui.notices.dataset.keys = keys;
    ui.notices.replaceChildren(
      ...state.notices.map((notice) => {
        const box = el(doc, 'div', `notice ${notice.level}`);
        box.append(el(doc, 'p', 'notice-text', notice.text));
        const close = el(doc, 'button', 'button quiet small', 'Dismiss');
        close.type = 'button';
        close.setAttribute('aria-label', 'Dismiss this message');
        close.addEventListener('click', () => this.handlers.dismissNotice(notice.key));
        box.append(close);
        return box;
      }),
    );
  }

  private renderRooms(state: ChatState): void {
    const { doc, ui } = this;
    ui.noRooms.hidden = state.rooms.length > 0;
    if (!ui.roomNickname.value) ui.roomNickname.value = state.nickname;
    const signature = state.rooms
      .map((r) => `${r.id}|${r.status}|${r.unread}|${r.id === state.activeRoomId}`)
      .join('\n');
    if (signature === this.renderedRoomList) return;
    this.renderedRoomList = signature;
    const focused = doc.activeElement instanceof HTMLElement ? doc.activeElement.dataset.room : undefined;
    const items = state.rooms.map((room) => {
      const item = el(doc, 'li');
      const button = el(doc, 'button', `room-tab ${room.status}`);
      button.type = 'button';
      button.dataset.room = room.id;
      if (room.id === state.activeRoomId) button.setAttribute('aria-current', 'true');
      button.append(el(doc, 'span', 'room-name', `# ${room.id}`));
      if (room.status !== 'joined') button.append(el(doc, 'span', 'room-flag', ROOM_STATE_TEXT[room.status]));
      if (room.unread > 0) {
        const badge = el(doc, 'span', 'unread', room.unread > 99 ? '99+' : String(room.unread));
        badge.setAttribute('aria-hidden', 'true');
        button.append(badge, el(doc, 'span', 'visually-hidden', `, ${room.unread} unread`));
      }
      button.addEventListener('click', () => this.handlers.selectRoom(room.id));
      item.append(button);
      return item;
    });
    ui.roomList.replaceChildren(...items);
    if (focused !== undefined) {
      ui.roomList.querySelector<HTMLElement>(`[data-room="${CSS.escape(focused)}"]`)?.focus();
    }
  }

  private renderActiveRoom(state: ChatState): void {
    const { doc, ui } = this;
    const room = state.rooms.find((r) => r.id === state.activeRoomId);
    ui.room.hidden = !room;
    ui.members.hidden = !room;
    if (!room) {
      this.renderedRoom = null;
      this.renderedKeys = [];
      return;
    }
    ui.roomTitle.textContent = `# ${room.id}`;
    ui.roomState.textContent = ROOM_STATE_TEXT[room.status];
    ui.reenter.hidden = room.status !== 'out';
    ui.leave.textContent = room.status === 'out' ? 'Close' : 'Leave';
    ui.leave.disabled = room.status === 'leaving';
    const count = room.members.length;
    ui.membersToggle.textContent =
      room.status === 'joined' ? `${count} ${count === 1 ? 'member' : 'members'}` : 'Members';
    const canSend = state.connection.status === 'open' && room.status === 'joined';
    ui.message.disabled = !canSend;
    ui.send.disabled = !canSend;
    ui.message.placeholder = canSend ? `Message #${room.id}` : 'Not in the room right now';

    this.renderLog(room);

    const membersKey = `${room.id}\n${room.nickname}\n${room.members.join('\n')}`;
    if (membersKey !== this.renderedMembers) {
      this.renderedMembers = membersKey;
      ui.memberList.replaceChildren(
        ...room.members.map((member) => {
          const item = el(doc, 'li', 'member', member);
          if (member === room.nickname) {
            item.classList.add('self');
            item.append(el(doc, 'span', 'you', ' (you)'));
          }
          return item;
        }),
      );
    }
  }

  private renderLog(room: Room): void {
    const { doc, ui } = this;
    const log = ui.log;
    const lines = room.lines;
    const count = this.renderedKeys.length;
    const continues =
      this.renderedRoom === room.id &&
      count <= lines.length &&
      (count === 0 || lines[count - 1]?.key === this.renderedKeys[count - 1]) &&
      (count === 0 || lines[0]?.key === this.renderedKeys[0]);
    if (!continues) {
      log.replaceChildren(...lines.map((line) => lineElement(doc, line)));
      this.renderedRoom = room.id;
      this.renderedKeys = lines.map((line) => line.key);
      this.pinned = true;
    } else {
      const added = lines.slice(count);
      log.append(...added.map((line) => lineElement(doc, line)));
      this.renderedKeys.push(...added.map((line) => line.key));
      if (added.some((line) => line.own)) this.pinned = true;
    }
    // Banners coming and going change the log's height too, so re-pin on every render.
    if (this.pinned) log.scrollTop = log.scrollHeight;
  }
}
