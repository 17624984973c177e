// The manager console (PROTOCOL §5b): one ManagerWeb socket, the org's teachers kept in a map and
// drawn as keyed rows. Events only mark rows dirty; one animation frame redraws those rows, and
// one timer rewrites the texts that age (time in state, countdowns), touching a node only when
// its text changes — so 2,000 teachers cost no more per event than one.
import { io } from '/console/socket.io.esm.min.js';

/** @typedef {'online' | 'grace' | 'offline'} State */
/**
 * @typedef {{ delivered: boolean, cooldownUntilMs: number }
 *   | { error: { code: string, message: string } }
 *   | { pending: true }} ForceOutcome
 */
/**
 * @typedef {object} Teacher
 * @property {string} userId
 * @property {State} state
 * @property {number} sinceMs when the state last changed, as far as this page knows
 * @property {string | null} lessonId
 * @property {string | null} lastReason the reason of the last `teacher_disconnect`
 * @property {number | null} lastReasonAtMs
 * @property {ForceOutcome | null} force the last force logout this page sent
 */
/**
 * @typedef {object} Row
 * @property {HTMLElement} element
 * @property {HTMLElement} badge
 * @property {HTMLElement} countdown
 * @property {HTMLElement} since
 * @property {HTMLElement} lesson
 * @property {HTMLElement} reason
 * @property {HTMLElement} forceResult
 * @property {Record<string, string>} shown the texts last written, so unchanged ones are skipped
 */
/** @typedef {{ ok: true, data: any } | { ok: false, error: { code: string, message: string } }} Ack */
/** @typedef {{ sub: string, role: string, org_id: string, exp?: number }} Claims */

const TOKEN_KEY = 'classroom.console.token';
const HISTORY_PAGE_SIZE = 50;
const ACK_TIMEOUT_MS = 10_000;
/** A refusal that may pass (`unavailable`) without its own `retry_after_s` is tried again after this. */
const DEFAULT_RETRY_S = 5;
/**
 * No event tells managers that a teacher joined a lesson, so the lesson column is refreshed from a
 * snapshot now and then; the snapshot also heals anything missed.
 */
const RESYNC_INTERVAL_MS = 60_000;

const settings = {
  graceMs: Number(document.body.dataset.disconnectGraceS) * 1000,
  cooldownMs: Number(document.body.dataset.cooldownS) * 1000,
};

/** @type {Record<State, string>} */
const STATE_WORDS = { online: 'Online', grace: 'In grace', offline: 'Offline' };
/** @type {Record<string, string>} */
const KIND_WORDS = {
  connect: 'Online',
  disconnect: 'Disconnected',
  logout: 'Logged out',
  session_end: 'Session ended',
};

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  form: /** @type {HTMLFormElement} */ (byId('connect-form')),
  token: /** @type {HTMLInputElement} */ (byId('token')),
  forget: /** @type {HTMLButtonElement} */ (byId('forget')),
  identity: byId('identity'),
  connection: byId('connection'),
  notice: byId('notice'),
  table: byId('teachers'),
  rows: byId('rows'),
  empty: byId('empty'),
  template: /** @type {HTMLTemplateElement} */ (byId('teacher-row')),
  drawer: /** @type {HTMLDialogElement} */ (byId('history')),
  drawerTitle: byId('history-title'),
  drawerStatus: byId('history-status'),
  drawerEvents: byId('history-events'),
  drawerMore: /** @type {HTMLButtonElement} */ (byId('history-more')),
  drawerClose: byId('history-close'),
  counts: new Map(
    Array.from(document.querySelectorAll('[data-count]'), (count) => [
      /** @type {HTMLElement} */ (count).dataset.count,
      count,
    ]),
  ),
};

const minuteTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const clockTime = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const dateTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
const byUserId = new Intl.Collator(undefined, { numeric: true }).compare;

// ---------------------------------------------------------------------------------------------
// The model: what this page knows of each teacher. Every change goes through `changed`.

/** @type {Map<string, Teacher>} */
const teachers = new Map();
/** @type {Record<State, number>} */
const counts = { online: 0, grace: 0, offline: 0 };

/**
 * Moves a teacher to `state`. Applying the same state twice keeps its start time, so a snapshot
 * and an event that say the same thing never reset "time in state".
 * @param {string} userId
 * @param {State} state
 * @param {{ sinceMs?: number, lessonId?: string | null, reason?: string }} [detail]
 */
function setState(userId, state, detail = {}) {
  const nowMs = Date.now();
  let teacher = teachers.get(userId);
  if (teacher === undefined) {
    teacher = {
      userId,
      state,
      sinceMs: nowMs,
      lessonId: null,
      lastReason: null,
      lastReasonAtMs: null,
      force: null,
    };
    teachers.set(userId, teacher);
    counts[state] += 1;
  } else if (teacher.state !== state) {
    counts[teacher.state] -= 1;
    counts[state] += 1;
    teacher.state = state;
    teacher.sinceMs = nowMs;
  }
  if (detail.sinceMs !== undefined) teacher.sinceMs = Math.min(detail.sinceMs, nowMs);
  if (detail.lessonId !== undefined) teacher.lessonId = detail.lessonId;
  if (detail.reason !== undefined) {
    teacher.lastReason = detail.reason;
    teacher.lastReasonAtMs = nowMs;
  }
  changed(userId);
}

/**
 * A `presence_state` payload: pushed after connecting and whenever the node re-syncs its managers,
 * or a `get_presence` answer. Teachers the page has seen that the snapshot leaves out have no
 * session any more: they are offline.
 * @param {{ teachers: Array<{ user_id: string, state: string, since: number, lesson_id: string | null }> }} snapshot
 */
function applySnapshot(snapshot) {
  const present = new Set();
  for (const entry of snapshot.teachers) {
    present.add(entry.user_id);
    setState(entry.user_id, entry.state === 'connect' ? 'online' : 'grace', {
      sinceMs: entry.since * 1000,
      lessonId: entry.lesson_id,
    });
  }
  for (const teacher of teachers.values()) {
    if (!present.has(teacher.userId) && teacher.state !== 'offline') {
      setState(teacher.userId, 'offline', { lessonId: null });
    }
  }
  redrawSoon();
}

/**
 * Presence events, by name. A reconnect within the grace period keeps the lesson; a new session
 * starts without one.
 * @type {Record<string, (payload: any) => void>}
 */
const presenceEvents = {
  teacher_connect: ({ user_id }) => {
    const before = teachers.get(user_id)?.state;
    setState(
      user_id,
      'online',
      before === 'offline' || before === undefined ? { lessonId: null } : {},
    );
  },
  teacher_disconnect: ({ user_id, reason }) => {
    setState(user_id, 'grace', { reason: typeof reason === 'string' ? reason : 'unknown' });
  },
  logout: ({ user_id }) => setState(user_id, 'offline', { lessonId: null }),
};

// ---------------------------------------------------------------------------------------------
// The view: one row per teacher, kept in user id order, redrawn only where something changed.

/** @type {Map<string, Row>} */
const rows = new Map();
/** @type {string[]} User ids in the order of their rows. */
const order = [];
/** @type {Set<string>} */
const dirty = new Set();
let frame = 0;
let isAdmin = false;

/** @param {string} userId */
function changed(userId) {
  dirty.add(userId);
  redrawSoon();
}

function redrawSoon() {
  if (frame === 0) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  const nowMs = Date.now();
  for (const userId of dirty) {
    const teacher = teachers.get(userId);
    if (teacher !== undefined) render(rows.get(userId) ?? addRow(userId), teacher, nowMs);
  }
  dirty.clear();
  renderSummary();
}

/**
 * Writes `text` into the row's `field` unless it is there already.
 * @param {Row} row
 * @param {'badge' | 'countdown' | 'since' | 'lesson' | 'reason' | 'forceResult'} field
 * @param {string} text
 */
function show(row, field, text) {
  if (row.shown[field] === text) return;
  row.shown[field] = text;
  row[field].textContent = text;
}

/** @param {string} userId */
function addRow(userId) {
  const element = /** @type {HTMLElement} */ (
    /** @type {DocumentFragment} */ (ui.template.content.cloneNode(true)).firstElementChild
  );
  const part = (/** @type {string} */ name) =>
    /** @type {HTMLElement} */ (element.querySelector(`.${name}`));
  element.dataset.userId = userId;
  const who = part('who');
  who.textContent = userId;
  who.id = `teacher-${userId}`;
  const history = part('history');
  history.setAttribute('aria-describedby', who.id);
  history.addEventListener('click', () => openHistory(userId, history));
  const force = part('force');
  if (isAdmin) {
    force.setAttribute('aria-describedby', who.id);
    force.addEventListener('click', () => forceLogout(userId));
  } else {
    force.remove();
  }
  /** @type {Row} */
  const row = {
    element,
    badge: part('badge'),
    countdown: part('countdown'),
    since: part('since'),
    lesson: part('lesson'),
    reason: part('reason'),
    forceResult: part('force-result'),
    shown: {},
  };
  rows.set(userId, row);
  let low = 0;
  let high = order.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byUserId(order[middle] ?? '', userId) < 0) low = middle + 1;
    else high = middle;
  }
  const next = order[low];
  ui.rows.insertBefore(element, next === undefined ? null : (rows.get(next)?.element ?? null));
  order.splice(low, 0, userId);
  return row;
}

/**
 * @param {Row} row
 * @param {Teacher} teacher
 * @param {number} nowMs
 */
function render(row, teacher, nowMs) {
  if (row.element.dataset.state !== teacher.state) row.element.dataset.state = teacher.state;
  show(row, 'badge', STATE_WORDS[teacher.state]);
  show(row, 'lesson', teacher.lessonId ?? '—');
  show(
    row,
    'reason',
    teacher.lastReason === null
      ? '—'
      : `${teacher.lastReason} · ${minuteTime.format(teacher.lastReasonAtMs ?? nowMs)}`,
  );
  show(row, 'forceResult', forceText(teacher.force));
  renderTimes(row, teacher, nowMs);
}

/**
 * The texts that age: how long the teacher has been in its state and, in grace, the time left
 * before the session ends (the disconnect + DISCONNECT_GRACE_S).
 * @param {Row} row
 * @param {Teacher} teacher
 * @param {number} nowMs
 */
function renderTimes(row, teacher, nowMs) {
  show(row, 'since', duration(nowMs - teacher.sinceMs));
  if (teacher.state === 'grace') {
    const leftMs = teacher.sinceMs + settings.graceMs - nowMs;
    show(row, 'countdown', leftMs > 0 ? `ends in ${countdown(leftMs)}` : 'ending now');
  } else {
    show(row, 'countdown', '');
  }
}

/** @param {ForceOutcome | null} force */
function forceText(force) {
  if (force === null) return '';
  if ('pending' in force) return 'Sending…';
  if ('error' in force) return `Not logged out: ${force.error.message} (${force.error.code})`;
  const until = `cooldown ends ${clockTime.format(force.cooldownUntilMs)}`;
  return force.delivered ? `Delivered · ${until}` : `Not delivered (no app connected) · ${until}`;
}

function renderSummary() {
  for (const [name, value] of Object.entries({ all: teachers.size, ...counts })) {
    const text = value.toLocaleString();
    const count = ui.counts.get(name);
    if (count === undefined || count.textContent === text) continue;
    count.textContent = text;
  }
  const hideEmpty = teachers.size > 0 || document.body.dataset.connection === 'idle';
  if (ui.empty.hidden !== hideEmpty) ui.empty.hidden = hideEmpty;
}

/** One timer for every ageing text on the page. */
function tick() {
  const nowMs = Date.now();
  for (const [userId, teacher] of teachers) {
    const row = rows.get(userId);
    if (row !== undefined) renderTimes(row, teacher, nowMs);
  }
}

/** @param {number} ms */
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ${String(min % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** @param {number} ms */
function countdown(ms) {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function clearTeachers() {
  teachers.clear();
  rows.clear();
  order.length = 0;
  dirty.clear();
  counts.online = 0;
  counts.grace = 0;
  counts.offline = 0;
  ui.rows.replaceChildren();
  renderSummary();
}

// ---------------------------------------------------------------------------------------------
// The connection.

/** @type {import('socket.io-client').Socket | null} */
let socket = null;
/** @type {Claims | null} */
let claims = null;
/** @type {Array<() => void> | null} Events that arrive while `get_presence` is answered. */
let arrivedDuringResync = null;
let retryTimer = 0;

/**
 * @param {'idle' | 'connecting' | 'connected' | 'lost' | 'refused'} connection
 * @param {string} text
 */
function banner(connection, text) {
  document.body.dataset.connection = connection;
  ui.connection.textContent = text;
  redrawSoon();
}

/** @param {string} text */
function notice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = text === '';
}

/**
 * The token's claims, read without checking the signature: the server checks it; the page only
 * needs the role and org the handshake must name.
 * @param {string} token
 * @returns {Claims | null}
 */
function readClaims(token) {
  const parts = token.split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined) return null;
  try {
    const json = atob(payload.replaceAll('-', '+').replaceAll('_', '/'));
    const bytes = Uint8Array.from(json, (char) => char.charCodeAt(0));
    const parsed = JSON.parse(new TextDecoder().decode(bytes));
    const { sub, role, org_id: orgId, exp } = parsed;
    if (typeof sub !== 'string' || typeof role !== 'string') return null;
    if (typeof orgId !== 'string' && typeof orgId !== 'number') return null;
    return { sub, role, org_id: String(orgId), ...(typeof exp === 'number' ? { exp } : {}) };
  } catch {
    return null;
  }
}

/** @param {string} token */
function connect(token) {
  const read = readClaims(token);
  if (read === null) {
    banner(
      'refused',
      'That is not a token. Paste the whole ManagerWeb token (three parts joined by dots).',
    );
    return;
  }
  if (read.exp !== undefined && read.exp * 1000 <= Date.now()) {
    banner(
      'refused',
      `This token expired at ${dateTime.format(read.exp * 1000)}. Paste a fresh one.`,
    );
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  disconnect();
  if (claims?.org_id !== read.org_id || claims?.role !== read.role) clearTeachers();
  claims = read;
  isAdmin = read.role === 'admin';
  ui.identity.textContent = `${read.sub} · ${read.role} · school ${read.org_id}`;
  ui.forget.hidden = false;
  notice('');
  banner('connecting', 'Connecting…');
  let connectedBefore = false;
  const current = io('/classroom', {
    path: '/sockets',
    forceNew: true,
    auth: { auth: token, role: read.role, org_id: read.org_id, product_type: 'manager' },
  });
  socket = current;

  current.on('connect', () => {
    if (!connectedBefore) {
      connectedBefore = true;
      banner(
        'connected',
        `Connected at ${clockTime.format(Date.now())}. Changes appear as they happen.`,
      );
      return;
    }
    banner('connected', 'Connection back. Re-syncing…');
    resync(current).then((ack) => {
      if (current !== socket) return;
      banner(
        'connected',
        ack.ok
          ? `Connection back at ${clockTime.format(Date.now())}. The list is up to date again.`
          : `Connection back, but the list could not be re-synced: ${ack.error.message}`,
      );
    });
  });
  current.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') return;
    if (reason === 'io server disconnect') {
      banner(
        'refused',
        'The service closed this connection. Paste a token and press Connect to come back.',
      );
      return;
    }
    banner(
      'lost',
      `Connection lost at ${clockTime.format(Date.now())} (${reason}). Reconnecting… ` +
        'Until then this list may be out of date.',
    );
  });
  current.on('connect_error', (error) => {
    if (current.active) {
      banner('lost', `Cannot reach the service (${error.message}). Retrying…`);
      return;
    }
    const data = /** @type {{ code?: string, message?: string, retry_after_s?: number }} */ (
      /** @type {any} */ (error).data ?? {}
    );
    const code = data.code ?? error.message;
    const reason = data.message ?? error.message;
    if (code === 'unavailable' || code === 'rate_limited') {
      const retryS = data.retry_after_s ?? DEFAULT_RETRY_S;
      banner(
        'lost',
        `The service refused for now (${code}): ${reason} Trying again in ${retryS} s.`,
      );
      retryTimer = window.setTimeout(() => current.connect(), retryS * 1000);
      return;
    }
    banner('refused', `Refused (${code}): ${reason} ${REFUSAL_HINTS[code] ?? ''}`.trim());
  });
  current.on('presence_state', (snapshot) => applySnapshot(snapshot));
  for (const [event, apply] of Object.entries(presenceEvents)) {
    current.on(event, (payload) => {
      apply(payload);
      arrivedDuringResync?.push(() => apply(payload));
    });
  }
  current.on('token_expiring', ({ exp }) => {
    notice(
      `Your token expires at ${clockTime.format(exp * 1000)}. Paste a fresh one and press Connect.`,
    );
  });
  current.on('token_expired', () =>
    notice('Your token has expired. Paste a fresh one and press Connect.'),
  );
}

/** @type {Record<string, string>} */
const REFUSAL_HINTS = {
  unauthorized: 'The token is not valid here or has expired; paste a fresh one.',
  forbidden: 'The token does not match the school or role it names.',
  invalid_handshake: 'The console needs a ManagerWeb token of role admin or teacher.',
};

function disconnect() {
  window.clearTimeout(retryTimer);
  socket?.disconnect();
  socket = null;
}

/**
 * Asks `event` and resolves to its acknowledgement, or to a failure of the page's own when the
 * socket is gone or the answer does not come.
 * @param {string} event
 * @param {object} payload
 * @param {import('socket.io-client').Socket | null} [via]
 * @returns {Promise<Ack>}
 */
async function request(event, payload, via = socket) {
  if (via === null || !via.connected) {
    return {
      ok: false,
      error: { code: 'not_connected', message: 'The console is not connected.' },
    };
  }
  try {
    const ack = await via.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    if (typeof ack === 'object' && ack !== null && typeof ack.ok === 'boolean') return ack;
    return {
      ok: false,
      error: { code: 'internal', message: 'The service answered something unexpected.' },
    };
  } catch {
    return {
      ok: false,
      error: { code: 'timeout', message: `No answer within ${ACK_TIMEOUT_MS / 1000} s.` },
    };
  }
}

/**
 * Reads the whole picture again with `get_presence`. Events that arrive before its answer may be
 * newer than the snapshot, so they are applied again on top of it (applying one twice is harmless).
 * @param {import('socket.io-client').Socket} via
 */
async function resync(via) {
  arrivedDuringResync = [];
  const ack = await request('get_presence', {}, via);
  const arrived = arrivedDuringResync;
  arrivedDuringResync = null;
  if (ack.ok && via === socket) {
    applySnapshot(ack.data);
    for (const apply of arrived) apply();
  }
  return ack;
}

// ---------------------------------------------------------------------------------------------
// Force logout and the history drawer.

/** @param {string} userId */
async function forceLogout(userId) {
  const teacher = teachers.get(userId);
  if (teacher === undefined || claims === null) return;
  if (teacher.force !== null && 'pending' in teacher.force) return;
  const cooldown = duration(settings.cooldownMs);
  const confirmed = window.confirm(
    `Force ${userId} to log out?\n\nTheir app is disconnected now and cannot sign in again for ${cooldown}.`,
  );
  if (!confirmed) return;
  teacher.force = { pending: true };
  changed(userId);
  const ack = await request('force_logout', { user_id: userId, org_id: claims.org_id });
  teacher.force = ack.ok
    ? { delivered: ack.data.delivered === true, cooldownUntilMs: Date.now() + settings.cooldownMs }
    : { error: ack.error };
  changed(userId);
}

const drawer = {
  /** @type {string | null} */
  userId: null,
  /** @type {number | undefined} */
  before: undefined,
  /** @type {HTMLElement | null} */
  opener: null,
};

/**
 * @param {string} userId
 * @param {HTMLElement} opener
 */
function openHistory(userId, opener) {
  drawer.userId = userId;
  drawer.before = undefined;
  drawer.opener = opener;
  ui.drawerTitle.textContent = `History of ${userId}`;
  ui.drawerEvents.replaceChildren();
  ui.drawerMore.hidden = true;
  ui.drawer.showModal();
  ui.drawerClose.focus();
  loadHistory();
}

async function loadHistory() {
  const { userId, before } = drawer;
  if (userId === null) return;
  ui.drawerStatus.textContent = 'Loading…';
  ui.drawerMore.disabled = true;
  const ack = await request('get_presence_history', {
    user_id: userId,
    limit: HISTORY_PAGE_SIZE,
    ...(before === undefined ? {} : { before }),
  });
  if (drawer.userId !== userId || drawer.before !== before) return;
  ui.drawerMore.disabled = false;
  if (!ack.ok) {
    ui.drawerStatus.textContent = `Could not load the history: ${ack.error.message} (${ack.error.code})`;
    return;
  }
  /** @type {Array<{ at: number, kind: string, reason: string, by?: string, lesson_ids?: string[], node: string }>} */
  const events = ack.data.events;
  const items = events.map(historyItem);
  ui.drawerEvents.append(...items);
  const shown = ui.drawerEvents.childElementCount;
  ui.drawerStatus.textContent =
    shown === 0 ? 'No presence changes recorded.' : `${shown} changes, newest first.`;
  const last = events.at(-1);
  ui.drawerMore.hidden = events.length < HISTORY_PAGE_SIZE || last === undefined;
  if (last !== undefined) drawer.before = last.at;
  // A keyboard user who asked for older entries continues reading where they start.
  if (before !== undefined) items[0]?.focus();
}

/** @param {{ at: number, kind: string, reason: string, by?: string, lesson_ids?: string[], node: string }} event */
function historyItem(event) {
  const item = document.createElement('li');
  item.tabIndex = -1;
  item.dataset.kind = event.kind;
  const at = document.createElement('time');
  at.dateTime = new Date(event.at).toISOString();
  at.textContent = dateTime.format(event.at);
  const what = document.createElement('span');
  const kind = document.createElement('strong');
  kind.textContent = KIND_WORDS[event.kind] ?? event.kind;
  what.append(kind, ` ${event.reason}`);
  const details = [
    event.by === undefined ? null : `by ${event.by}`,
    event.lesson_ids === undefined || event.lesson_ids.length === 0
      ? null
      : `ended ${event.lesson_ids.join(', ')}`,
    `node ${event.node}`,
  ].filter((part) => part !== null);
  const detail = document.createElement('span');
  detail.className = 'event-detail';
  detail.textContent = details.join(' · ');
  item.append(at, what, detail);
  return item;
}

ui.drawerMore.addEventListener('click', () => loadHistory());
ui.drawerClose.addEventListener('click', () => ui.drawer.close());
// A click on the backdrop lands on the dialog itself, outside its content.
ui.drawer.addEventListener('click', (event) => {
  if (event.target === ui.drawer) ui.drawer.close();
});
ui.drawer.addEventListener('close', () => {
  drawer.userId = null;
  if (drawer.opener?.isConnected) drawer.opener.focus();
});

// ---------------------------------------------------------------------------------------------
// Start.

for (const button of document.querySelectorAll('[data-show]')) {
  if (!(button instanceof HTMLButtonElement)) continue;
  button.addEventListener('click', () => {
    ui.table.dataset.show = button.dataset.show;
    for (const other of document.querySelectorAll('button[data-show]')) {
      other.setAttribute('aria-pressed', String(other === button));
    }
  });
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  connect(ui.token.value.trim());
});
ui.forget.addEventListener('click', () => {
  disconnect();
  sessionStorage.removeItem(TOKEN_KEY);
  claims = null;
  ui.token.value = '';
  ui.forget.hidden = true;
  ui.identity.textContent = 'Not connected';
  clearTeachers();
  banner('idle', 'Token forgotten. Paste a manager token and press Connect.');
  ui.token.focus();
});

window.setInterval(tick, 1000);
window.setInterval(() => {
  if (socket?.connected && arrivedDuringResync === null) resync(socket);
}, RESYNC_INTERVAL_MS);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved !== null) {
  ui.token.value = saved;
  connect(saved);
}
