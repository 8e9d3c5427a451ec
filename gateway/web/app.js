// The ipcmesh web page: plain JavaScript, no build step. Message content
// comes from other programs, so it only ever reaches the page as text
// (textContent), never as markup.
'use strict';

const KEY_ITEM = 'ipcmesh.key';
// The API lives beside the page: strip the file name and any /static/ part.
const BASE = location.pathname.replace(/static\/.*$/, '').replace(/[^/]*$/, '') + 'api/v1/';
const TYPES = ['request', 'response', 'status', 'handoff', 'done'];
const PAGE = 500; // unread messages the inbox loads and shows at most
const LONG_LINES = 20; // lines of a message shown before "Show more" (style.css agrees)
const $ = (id) => document.getElementById(id);

const state = {
  key: '', me: null, instances: [], channels: [], unread: [],
  remaining: 0,    // unread messages past the page in unread, oldest first
  conv: null,      // {kind: 'inbox'} or {kind: 'dm'|'channel', name}
  messages: [],    // the open conversation, oldest first
  seen: new Set(), // ids shown in the open conversation
  more: false, loadSeq: 0, stream: null, timer: 0, refresh: 0,
  draft: null,     // {to, content, id}: the message last sent without an answer (draftID)
  drawing: 0,      // the frame redraw is due at, 0 when none is
  stick: null,     // whether the open conversation keeps to its bottom at the next redraw
  acking: false, ackAgain: false, // an ack of the open conversation is under way; another is due after it
  unreadLoading: false, unreadAgain: false, // the same for reading the unread mail (loadUnread)
  arrived: new Set(), // ids of the mail put in unread while a read of it was under way
  expanded: new Set(), // ids of the long messages shown whole (moreButton)
  whole: new Map(),    // id to the whole text of a large message, once fetched
};

class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `request failed (HTTP ${status})`);
    this.status = status; this.code = e.code || ''; this.suggestions = e.suggestions || [];
    this.retryAfter = e.retry_after_ms || 0;
  }
}

// NoAnswer is a request that got no answer: the connection failed or was
// cut (the face restarting, the network gone). The face may have done it
// all the same.
class NoAnswer extends Error {
  constructor(cause) {
    super(`ipcmesh did not answer (${cause.message})`);
    this.code = 'no_answer';
  }
}

async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: { Authorization: 'Bearer ' + state.key, ...opts.headers } };
  if (opts.body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch (e) {
    throw new NoAnswer(e);
  }
  let body = null;
  try { body = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) {
    if (res.status === 401 && path !== 'me') signOut('Your key was refused: ' + new APIError(res.status, body).message);
    throw new APIError(res.status, body);
  }
  return body;
}

// ---- helpers ------------------------------------------------------------

function el(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

// foreign is el for text another program wrote (a message, a status, a
// description), set apart from the page's own words: it reads in its own
// direction (Hebrew and Arabic from the right), and no control character
// in it (U+202E, say) turns the page's words around it.
function foreign(tag, cls, text) {
  const n = el(tag, cls, text);
  n.dir = 'auto';
  return n;
}

// subline fills node with parts joined by ' · ', each an element, or a
// string of the page's own words.
function subline(node, parts) {
  const kids = [];
  for (const part of parts) {
    if (kids.length) kids.push(' · ');
    kids.push(part);
  }
  node.replaceChildren(...kids);
}

function show(node, on) { node.hidden = !on; }

// The formats of times, made once: toLocaleTimeString and the like make
// a formatter for every call, which made drawing a page of 500 messages
// slow.
const HOUR_MINUTE = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
const MONTH_DAY = new Intl.DateTimeFormat([], { month: 'short', day: 'numeric' });
const FULL_TIME = new Intl.DateTimeFormat([], { dateStyle: 'medium', timeStyle: 'medium' });

function fmtTime(s) {
  const d = new Date(s);
  if (isNaN(d)) return '';
  const hm = HOUR_MINUTE.format(d);
  if (d.toDateString() === new Date().toDateString()) return hm;
  return MONTH_DAY.format(d) + ' ' + hm;
}

function hue(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
  return h;
}

function convKey(c) { return c ? c.kind + ':' + (c.name || '') : ''; }

// Which conversation a message belongs to, seen from me.
function convOf(m) {
  if (m.channel) return { kind: 'channel', name: m.channel };
  return { kind: 'dm', name: m.from === state.me.name ? m.to : m.from };
}

// ---- sign in and out ----------------------------------------------------

async function signIn(key) {
  state.key = key;
  const me = await api('me');
  sessionStorage.setItem(KEY_ITEM, key);
  $('key-input').value = '';
  state.me = me;
  $('me-name').textContent = me.name;
  show($('signin-view'), false);
  show($('app-view'), true);
  await Promise.all([loadInstances(), loadChannels(), loadUnread()]);
  openConv({ kind: 'inbox' });
  connect();
  state.timer = setInterval(() => { loadInstances(); loadChannels(); }, 15000);
}

// signOut shows the sign-in form, with msg. A key to retry with stays
// kept and in the form, so that Sign in tries it again: keys are shown
// once, when made, and one lost to a failed request is lost for good.
function signOut(msg, retryKey) {
  if (!retryKey) sessionStorage.removeItem(KEY_ITEM);
  if (state.stream) state.stream.abort();
  clearInterval(state.timer);
  show($('notice'), false);
  Object.assign(state, { key: '', me: null, conv: null, stream: null, messages: [], unread: [], remaining: 0 });
  state.seen.clear();
  state.expanded.clear();
  state.whole.clear();
  $('messages').replaceChildren();
  show($('app-view'), false);
  show($('signin-view'), true);
  const err = $('signin-error');
  err.textContent = msg || '';
  show(err, !!msg);
  $('key-input').value = retryKey || '';
  $('key-input').focus();
}

// ---- sidebar ------------------------------------------------------------

async function loadInstances() {
  try {
    const r = await api('instances');
    state.instances = (r.instances || []).filter((i) => i.name !== state.me.name)
      .sort((a, b) => (b.online - a.online) || a.name.localeCompare(b.name));
    renderSidebar();
  } catch (_) { /* shown by the next successful refresh */ }
}

async function loadChannels() {
  try {
    const r = await api('channels');
    state.channels = (r.channels || []).sort((a, b) => a.name.localeCompare(b.name));
    renderSidebar();
  } catch (_) { /* idem */ }
}

// loadUnread reads the oldest page of unread mail and how much more there
// is. One read is under way at a time: mail that comes or is acked while
// it is (its answer may or may not count it) has the page read again once
// the answer is in, so the count ends up the mesh's. Mail that came
// meanwhile and that the answer lacks stays in unread all the same: the
// answer may have been read before it was sent, and without it the open
// conversation's next ack left it out, and the count fell to none, until
// the read again came back.
async function loadUnread() {
  if (state.unreadLoading) { state.unreadAgain = true; return; }
  state.unreadLoading = true;
  try {
    do {
      state.unreadAgain = false;
      state.arrived.clear();
      const r = await api('messages?limit=' + PAGE);
      const got = r.messages || [];
      const ids = new Set(got.map((m) => m.id));
      state.unread = got.concat(state.unread.filter((m) => state.arrived.has(m.id) && !ids.has(m.id)));
      state.remaining = r.remaining || 0;
    } while (state.unreadAgain && state.me);
  } catch (_) {
    return; /* the next message or reconnect reads it again */
  } finally {
    state.unreadLoading = false;
    state.arrived.clear();
  }
  if (state.conv && state.conv.kind !== 'inbox') ackOpen();
  renderCount();
  redraw();
}

// unreadTotal counts every unread message, the ones past the page loaded
// too.
function unreadTotal() { return state.unread.length + state.remaining; }

function unreadFor(c) {
  const k = convKey(c);
  return state.unread.filter((m) => convKey(convOf(m)) === k).length;
}

function sideItem(c, label, sub, online) {
  const li = el('li');
  const b = el('button', 'item');
  b.type = 'button';
  b.dataset.kind = c.kind;
  b.dataset.name = c.name;
  if (convKey(c) === convKey(state.conv)) b.setAttribute('aria-current', 'true');
  if (online !== undefined) {
    const dot = el('span', 'dot' + (online ? ' on' : ''));
    dot.setAttribute('role', 'img');
    dot.setAttribute('aria-label', online ? 'online' : 'offline');
    b.append(dot);
  } else {
    b.append(el('span', 'hash', '#'));
  }
  const text = el('span', 'text');
  text.append(el('span', 'label', label));
  if (sub) text.append(foreign('span', 'sub', sub));
  b.append(text);
  const n = unreadFor(c);
  if (n) {
    const badge = el('span', 'count', String(n));
    badge.setAttribute('aria-label', n + ' unread');
    b.append(badge);
  }
  b.title = sub ? label + ': ' + sub : label;
  b.addEventListener('click', () => openConv(c));
  li.append(b);
  return li;
}

function renderSidebar() {
  if (!state.me) return;
  // Keep keyboard focus on the same row across a re-render.
  const f = document.activeElement;
  const focused = f && f.matches('#sidebar .item[data-name]') ? f.dataset.kind + ':' + f.dataset.name : '';
  const names = new Set(state.instances.map((i) => i.name));
  const inst = state.instances.map((i) =>
    sideItem({ kind: 'dm', name: i.name }, i.name, i.status || i.description || '', i.online));
  // Mail from a name not listed yet still gets a row.
  for (const m of state.unread) {
    const c = convOf(m);
    if (c.kind === 'dm' && !names.has(c.name)) { names.add(c.name); inst.push(sideItem(c, c.name, '', false)); }
  }
  if (!inst.length) inst.push(el('li', 'none muted', 'Nobody else yet'));
  $('instances').replaceChildren(...inst);
  const chans = state.channels.map((ch) =>
    sideItem({ kind: 'channel', name: ch.name }, ch.name, ch.description || '', undefined));
  if (!chans.length) chans.push(el('li', 'none muted', 'No channels'));
  $('channels').replaceChildren(...chans);
  if (focused) {
    const again = [...$('sidebar').querySelectorAll('.item[data-name]')].find((n) => n.dataset.kind + ':' + n.dataset.name === focused);
    if (again) again.focus();
  }
  $('inbox-link').toggleAttribute('aria-current', state.conv && state.conv.kind === 'inbox');
  renderCount();
}

// renderCount shows the unread count on the inbox and in the tab's title,
// which a person sees with the tab in the background, where no frame is
// drawn (redraw).
function renderCount() {
  const n = unreadTotal();
  const count = $('inbox-count');
  count.textContent = String(n);
  show(count, n > 0);
  document.title = (n ? `(${n}) ` : '') + 'ipcmesh';
}

// ---- conversations ------------------------------------------------------

function openConv(c) {
  state.conv = c;
  state.messages = [];
  state.seen.clear();
  state.more = false;
  $('messages').replaceChildren();
  setSidebar(false);
  hideComposeError();
  const inbox = c.kind === 'inbox';
  show($('compose-form'), !inbox);
  show($('ack-all'), false);
  $('messages').dataset.conv = convKey(c);
  if (inbox) {
    $('conv-title').textContent = 'Inbox';
    renderInbox();
  } else {
    $('conv-title').textContent = (c.kind === 'channel' ? '#' : '') + c.name;
    const info = c.kind === 'channel'
      ? state.channels.find((ch) => ch.name === c.name)
      : state.instances.find((i) => i.name === c.name);
    const told = (t) => t ? [foreign('bdi', '', t)] : [];
    let sub = [];
    const n = info && info.members ? info.members.length : 0;
    if (info && c.kind === 'channel') sub = [...told(info.description), n + (n === 1 ? ' member' : ' members')];
    else if (info) sub = [info.online ? 'online' : 'offline', ...told(info.status), ...told(info.description)];
    subline($('conv-sub'), sub);
    $('compose').placeholder = 'Message ' + $('conv-title').textContent;
    loadHistory(false);
    $('compose').focus({ preventScroll: true });
  }
  renderSidebar();
}

async function loadHistory(older) {
  const c = state.conv;
  const q = new URLSearchParams({ limit: '50' });
  q.set(c.kind === 'channel' ? 'channel' : 'with', c.name);
  if (older && state.messages.length) q.set('before', String(state.messages[0].seq));
  const seq = ++state.loadSeq;
  const sc = $('scroller');
  const fromBottom = sc.scrollHeight - sc.scrollTop;
  try {
    const r = await api('history?' + q);
    if (seq !== state.loadSeq || convKey(c) !== convKey(state.conv)) return;
    const page = (r.messages || []).filter((m) => !state.seen.has(m.id)).reverse();
    page.forEach((m) => state.seen.add(m.id));
    state.messages = page.concat(state.messages);
    state.more = !!r.more;
    $('messages').prepend(...page.map((m) => renderMessage(m)));
    show($('load-older'), state.more);
    emptyNote();
    sc.scrollTop = older ? sc.scrollHeight - fromBottom : sc.scrollHeight;
    ackOpen();
  } catch (e) {
    showComposeError(e);
  }
}

// After a reconnect, messages missed in the open conversation are
// appended. A conversation that showed none yet, or missed more than a
// page, is read anew, its newest page first, as when it is opened: the
// unread mail of the open conversation is marked read on reconnecting,
// and must be on screen by then.
async function catchUp() {
  const c = state.conv;
  if (!c || c.kind === 'inbox') return;
  if (!state.messages.length) { loadHistory(false); return; }
  const q = new URLSearchParams({ limit: '50', [c.kind === 'channel' ? 'channel' : 'with']: c.name });
  try {
    const r = await api('history?' + q);
    if (convKey(c) !== convKey(state.conv)) return;
    const last = state.messages[state.messages.length - 1].seq;
    const page = r.messages || [];
    const missed = page.filter((m) => m.seq > last);
    if (r.more && missed.length === page.length) {
      state.messages = [];
      state.seen.clear();
      $('messages').replaceChildren();
      loadHistory(false);
      return;
    }
    missed.reverse().forEach(arrive);
  } catch (_) { /* the next reconnect tries again */ }
}

// Mail in the open conversation counts as read once it is on screen. One
// ack is under way at a time, and the next one takes all that came
// meanwhile: a burst into the open conversation made an ack of each
// message, past the key's rate limit, and those refused stayed unread.
async function ackOpen() {
  if (!state.conv || state.conv.kind === 'inbox' || document.hidden) return;
  if (state.acking) { state.ackAgain = true; return; }
  const k = convKey(state.conv);
  const ids = state.unread.filter((m) => convKey(convOf(m)) === k).map((m) => m.id);
  if (!ids.length) return;
  state.acking = true;
  try {
    await ack(ids);
  } finally {
    state.acking = false;
    if (state.ackAgain) { state.ackAgain = false; ackOpen(); }
  }
}

async function ack(ids) {
  try {
    await api('messages/ack', { method: 'POST', body: { ids } });
    const done = new Set(ids);
    state.unread = state.unread.filter((m) => !done.has(m.id));
    if (state.unreadLoading) state.unreadAgain = true;
    renderCount();
    redraw();
    // The oldest unread were read: the next page comes in their place.
    if (state.remaining > 0) loadUnread();
  } catch (_) { /* stays unread */ }
}

function renderInbox() {
  const list = state.unread;
  let sub = list.length ? unreadTotal() + ' unread' : '';
  if (list.length && state.remaining) sub += `, the oldest ${list.length} shown`;
  $('conv-sub').textContent = sub;
  $('ack-all').textContent = state.remaining ? `Mark these ${list.length} read` : 'Mark all read';
  show($('ack-all'), list.length > 0);
  // The rows already shown stay as they are; read ones go, new ones come
  // in their place in the list. Drawn anew, every row lost the keyboard
  // focus on it, and the inbox, a live region, had a screen reader read
  // every message again for each one that came.
  const rows = $('messages');
  const want = new Set(list.map((m) => m.id));
  for (const li of [...rows.children]) if (!want.has(li.dataset.id)) li.remove();
  const have = new Set([...rows.children].map((li) => li.dataset.id));
  let at = rows.firstElementChild;
  for (const m of list) {
    if (at && at.dataset.id === m.id) at = at.nextElementSibling;
    else if (!have.has(m.id)) rows.insertBefore(renderMessage(m, true), at);
  }
  show($('load-older'), false);
  emptyNote();
}

function emptyNote() {
  const inbox = state.conv.kind === 'inbox';
  const none = inbox ? !state.unread.length : !state.messages.length;
  $('empty').textContent = inbox ? 'No unread mail. New messages show up here as they arrive.' : 'No messages yet. Say hello below.';
  show($('empty'), none);
}

function renderMessage(m, inInbox) {
  const li = el('li', 'msg' + (state.me && m.from === state.me.name ? ' mine' : ''));
  li.dataset.id = m.id;
  li.dataset.seq = String(m.seq);
  li.dataset.from = m.from;
  const av = el('span', 'avatar', (m.from || '?').slice(0, 1).toUpperCase());
  av.style.setProperty('--h', hue(m.from || ''));
  av.setAttribute('aria-hidden', 'true');
  const box = el('div', 'box');
  const meta = el('div', 'meta');
  meta.append(el('span', 'from', m.from));
  const to = m.broadcast ? 'to everyone' : m.channel ? 'in #' + m.channel : m.to !== state.me.name ? 'to ' + m.to : '';
  if (to && (inInbox || m.broadcast)) meta.append(el('span', 'to muted', to));
  if (m.type && TYPES.includes(m.type)) meta.append(el('span', 'badge t-' + m.type, m.type));
  const t = el('time', 'muted', fmtTime(m.time));
  t.dateTime = m.time;
  t.title = isNaN(new Date(m.time)) ? '' : FULL_TIME.format(new Date(m.time));
  meta.append(t);
  if (m.reply_to) {
    const r = el('span', 'reply muted', '↳ reply');
    r.title = 'In reply to ' + m.reply_to;
    meta.append(r);
  }
  const body = foreign('div', 'body', m.content);
  box.append(meta, body);
  if (m.large || isLong(m.content)) box.append(moreButton(m, body));
  if (m.shared) box.append(el('div', 'shared muted', 'shared: ' + m.shared));
  if (inInbox) {
    const acts = el('div', 'actions');
    const open = el('button', 'ghost small', 'Open conversation');
    open.type = 'button';
    open.addEventListener('click', () => openConv(convOf(m)));
    const read = el('button', 'ghost small', 'Mark read');
    read.type = 'button';
    read.dataset.ack = m.id;
    read.addEventListener('click', () => ack([m.id]));
    acts.append(open, read);
    box.append(acts);
  }
  li.append(av, box);
  return li;
}

// isLong reports whether a text is too long to show whole at first: it
// would fill screens, and the messages around it would scroll away.
function isLong(text) {
  if (text.length > 2000) return true;
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    if (++lines > LONG_LINES) return true;
  }
  return false;
}

// fmtSize is a size in bytes as people read it, as the command line
// writes it.
function fmtSize(n) {
  if (n < 1024) return n + ' bytes';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

// wholeText reads the whole body of message id. The face answers a body
// of more than 90,000 bytes of JSON a page at a time, each naming the
// offset of the next (next_offset); a page refused for the key's rate is
// asked for again when the face says. progress is told the share read.
async function wholeText(id, progress) {
  const parts = [];
  for (let offset = 0; ;) {
    let r;
    try {
      r = await api('messages/' + encodeURIComponent(id) + (offset ? '?offset=' + offset : ''));
    } catch (e) {
      if (e.code !== 'rate_limited') throw e;
      await new Promise((done) => setTimeout(done, Math.max(e.retryAfter, 100)));
      continue;
    }
    parts.push(r.content);
    if (!r.next_offset) return parts.join('');
    offset = r.next_offset;
    progress(offset / r.message.size);
  }
}

// moreButton shows the whole of a long message's body and folds it again.
// A large message's body is a summary: its whole text is fetched once.
// Which are open is kept across redraws of the inbox.
function moreButton(m, body) {
  const more = el('button', 'link more');
  more.type = 'button';
  more.setAttribute('aria-expanded', 'false');
  const summary = m.content;
  const set = (open) => {
    state.expanded[open ? 'add' : 'delete'](m.id);
    more.setAttribute('aria-expanded', String(open));
    more.textContent = open ? 'Show less' : m.large ? `Show all (${fmtSize(m.size)})` : 'Show more';
    if (m.large) body.textContent = open ? state.whole.get(m.id) : summary;
    else body.classList.toggle('folded', !open);
  };
  more.addEventListener('click', async () => {
    const open = !state.expanded.has(m.id);
    if (open && m.large && !state.whole.has(m.id)) {
      more.disabled = true; // one read of the pages at a time
      try {
        state.whole.set(m.id, await wholeText(m.id, (share) => {
          more.textContent = `Loading ${Math.floor(share * 100)}%`;
        }));
      } catch (e) {
        more.textContent = e.message;
        return;
      } finally {
        more.disabled = false;
      }
    }
    set(open);
  });
  set(state.expanded.has(m.id) && (!m.large || state.whole.has(m.id)));
  return more;
}

// A message for the open conversation goes on screen; any other is
// unread. The inbox shows a page of the oldest unread: one past it is
// counted, and shown once those before it are read.
function arrive(m) {
  const mine = m.from === state.me.name;
  const c = convOf(m);
  const open = state.conv && convKey(c) === convKey(state.conv);
  if (state.unreadLoading) state.unreadAgain = true;
  if (!mine && !state.unread.some((u) => u.id === m.id)) {
    if (open || (state.unread.length < PAGE && !state.remaining)) {
      state.unread.push(m);
      if (state.unreadLoading) state.arrived.add(m.id);
    } else {
      // Counted at once, and counted again by the mesh: its event may
      // come after a read of the unread mail that counted it already.
      state.remaining++;
      loadUnread();
    }
  }
  if (open && !state.seen.has(m.id)) {
    state.seen.add(m.id);
    state.messages.push(m);
    if (state.stick === null) {
      // Read once for a burst: whether the reader was at the bottom
      // before it came.
      const sc = $('scroller');
      state.stick = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
    }
    if (mine) state.stick = true;
    $('messages').append(renderMessage(m));
    ackOpen();
  }
  renderCount();
  redraw();
  // Whoever writes may have come online or changed status.
  if (!state.refresh) state.refresh = setTimeout(() => { state.refresh = 0; loadInstances(); }, 300);
}

// redraw draws the sidebar, the inbox and the open conversation's end
// once in the next frame, however many messages came before it: drawn
// anew for each message, a burst of hundreds froze the page for minutes.
function redraw() {
  if (state.drawing) return;
  state.drawing = requestAnimationFrame(() => {
    state.drawing = 0;
    if (!state.me) return;
    renderSidebar();
    if (state.conv && state.conv.kind === 'inbox') renderInbox();
    else if (state.conv) emptyNote();
    if (state.stick) $('scroller').scrollTop = $('scroller').scrollHeight;
    state.stick = null;
  });
}

// ---- live events --------------------------------------------------------

// setConn shows the state of the live stream. why is the face's answer
// when it refused the stream (the key's name renamed away, taken by
// another instance, the broker not answering): retrying alone would not
// help, and the words say what would.
function setConn(s, text, why) {
  const n = $('conn');
  n.dataset.state = s;
  n.textContent = text;
  const notice = $('notice');
  notice.textContent = why ? 'Live updates stopped: ' + why : '';
  show(notice, !!why);
}

function connect() {
  const ctl = new AbortController();
  state.stream = ctl;
  let delay = 1000;
  const run = async () => {
    while (!ctl.signal.aborted) {
      let why = '';
      try {
        const res = await fetch(BASE + 'events', {
          headers: { Authorization: 'Bearer ' + state.key, Accept: 'text/event-stream' },
          signal: ctl.signal, cache: 'no-store',
        });
        if (!res.ok || !res.body) {
          // The face's words say why (a key revoked: when, and who
          // makes a new one), not only that.
          let body = null;
          try { body = await res.json(); } catch (_) { /* not JSON */ }
          const err = new APIError(res.status, body);
          if (res.status === 401) { signOut('Your key was refused: ' + err.message); return; }
          throw err;
        }
        await readEvents(res.body, (ev) => {
          if (ev.event === 'ready') {
            delay = 1000;
            setConn('live', 'live');
            loadUnread();
            catchUp();
          } else if (ev.event === 'message') {
            try { arrive(JSON.parse(ev.data)); } catch (_) { /* a malformed event is skipped */ }
          }
        });
      } catch (e) {
        why = e instanceof APIError ? e.message : ''; // else dropped: retried below
      }
      if (ctl.signal.aborted) return;
      setConn('down', 'reconnecting', why);
      await new Promise((ok) => setTimeout(ok, delay + Math.random() * 250));
      delay = Math.min(delay * 2, 30000);
    }
  };
  setConn('connecting', 'connecting');
  run();
}

// readEvents parses a text/event-stream body and calls on for each event.
async function readEvents(body, on) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ev = { event: '', data: [], id: '' };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    const lines = buf.split(/\r\n|\r|\n/);
    buf = lines.pop();
    for (const line of lines) {
      if (line === '') {
        if (ev.data.length || ev.event) on({ event: ev.event || 'message', id: ev.id, data: ev.data.join('\n') });
        ev = { event: '', data: [], id: '' };
        continue;
      }
      if (line[0] === ':') continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let val = i < 0 ? '' : line.slice(i + 1);
      if (val[0] === ' ') val = val.slice(1);
      if (field === 'event') ev.event = val;
      else if (field === 'data') ev.data.push(val);
      else if (field === 'id') ev.id = val;
    }
  }
}

// ---- compose ------------------------------------------------------------

function showComposeError(e) {
  const p = $('compose-error');
  let text = e.message;
  if (e.suggestions && e.suggestions.length) {
    text = text.replace(/[^.!?]$/, '$&.') + ' Did you mean ' + e.suggestions.join(', ') + '?';
  }
  p.textContent = text;
  p.dataset.code = e.code || '';
  show(p, true);
}

function hideComposeError() { show($('compose-error'), false); }

// randomID is a new message id: 32 hex digits from the browser's random
// source (crypto.randomUUID needs a secure context; a face behind
// --insecure is served over plain HTTP).
function randomID() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// draftID is the id of the message to send. A send that got no answer
// may have been stored all the same, its answer lost: the same text sent
// again to the same place carries the same id (as its Idempotency-Key),
// so the mesh stores and delivers it once. Other text is another message.
function draftID(to, content) {
  const d = state.draft;
  if (!d || d.to !== to || d.content !== content) state.draft = { to, content, id: randomID() };
  return state.draft.id;
}

async function send() {
  const box = $('compose');
  const content = box.value;
  const c = state.conv;
  if (!content.trim() || !c || c.kind === 'inbox') return;
  const btn = $('send');
  btn.disabled = true;
  hideComposeError();
  const to = (c.kind === 'channel' ? '#' : '') + c.name;
  try {
    const r = await api('messages', { method: 'POST', body: { to, content }, headers: { 'Idempotency-Key': draftID(to, content) } });
    state.draft = null;
    box.value = '';
    autosize();
    if (r && r.message) arrive(r.message);
  } catch (e) {
    if (e instanceof NoAnswer) {
      e.message = `The message may not have been sent: ${e.message}. Send it again: it will not be delivered twice.`;
    }
    showComposeError(e);
  } finally {
    btn.disabled = false;
    box.focus();
  }
}

function autosize() {
  const box = $('compose');
  box.style.height = 'auto';
  box.style.height = Math.min(box.scrollHeight, 200) + 'px';
}

// ---- narrow screens -----------------------------------------------------

function setSidebar(open) {
  document.body.classList.toggle('nav-open', open);
  $('menu-toggle').setAttribute('aria-expanded', String(open));
  show($('scrim'), open);
}

// ---- wiring -------------------------------------------------------------

function init() {
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('key-input').value.trim();
    if (!key) return;
    const btn = $('sign-in');
    btn.disabled = true;
    show($('signin-error'), false);
    try {
      await signIn(key);
    } catch (err) {
      state.key = '';
      sessionStorage.removeItem(KEY_ITEM);
      $('signin-error').textContent = err.message;
      show($('signin-error'), true);
    } finally {
      btn.disabled = false;
    }
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('inbox-link').addEventListener('click', () => openConv({ kind: 'inbox' }));
  $('ack-all').addEventListener('click', () => ack(state.unread.map((m) => m.id)));
  $('load-older').addEventListener('click', () => loadHistory(true));
  $('compose-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('compose').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  // A synthetic Enter may also come as a keypress: it must not add a line.
  $('compose').addEventListener('keypress', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) e.preventDefault();
  });
  $('compose').addEventListener('input', autosize);
  $('menu-toggle').addEventListener('click', () => setSidebar(!document.body.classList.contains('nav-open')));
  $('scrim').addEventListener('click', () => setSidebar(false));
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') setSidebar(false); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) ackOpen(); });

  const saved = sessionStorage.getItem(KEY_ITEM);
  if (saved) {
    // Only a refusal of the key forgets it; a face that did not answer,
    // or answered with another error, is tried again with the same key.
    signIn(saved).catch((e) => {
      if (e.status === 401) signOut(e.message);
      else signOut(`Could not sign in: ${e.message}. Your key is kept: press Sign in to try again.`, saved);
    });
  } else {
    signOut();
  }
}

init();
