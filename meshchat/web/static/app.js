// MeshChat in the browser: login, views (Everything, a channel, a direct conversation,
// search), live updates over one WebSocket, unread counts and notifications.

import * as api from "./api.js";
import { MessageCache } from "./cache.js";
import { Composer } from "./compose.js";
import { $, CALLSIGN_RULE, clear, el, normalizeCallsign } from "./dom.js";
import { Live } from "./live.js";
import { messageRow, startEdit } from "./messages.js";
import * as notify from "./notify.js";
import { renderStatus } from "./status.js";
import { Sidebar } from "./sidebar.js";

const PAGE = 50;
const CONTEXT = 25;
const TYPING_EVERY_MS = 3000;
const STATUS_REFRESH_MS = 10000;

const S = {
  me: null, // {callsign, key, via_node, status, last_visit}
  zone: null,
  live: null,
  view: { kind: "all", name: "" }, // all | channel | dm | search
  cache: new MessageCache(), // every message seen this session, indexed by reply_to
  rows: new Map(), // id -> row element in the main list
  shown: [], // ids in the main list, in (ts, id) order
  hasOlder: false,
  lastScrollTop: 0,
  atLive: true,
  loading: false,
  loadToken: 0,
  fromHistory: new Set(), // ids loaded over HTTP (may be marked "new since last visit")
  typing: new Map(), // "CALL\nchannel" -> {callsign, node, channel, timer}
  lastTyping: 0,
  presence: null, // Map callsign -> user, for join/leave lines
  threadRoot: null,
  statusTimer: null,
  sidebar: null,
  composer: null,
  prefs: {},
};

// -- preferences and per-user storage ------------------------------------------------

function storeKey(name) {
  return `meshchat:${S.zone}:${S.me.callsign}:${name}`;
}
function load(name, fallback) {
  try {
    const raw = localStorage.getItem(storeKey(name));
    return raw === null ? fallback : JSON.parse(raw);
  } catch (err) {
    return fallback;
  }
}
function save(name, value) {
  try {
    localStorage.setItem(storeKey(name), JSON.stringify(value));
  } catch (err) {
    // Storage full or disabled: preferences last for this tab only.
  }
}

// -- login -----------------------------------------------------------------------------

function showLogin(message) {
  teardown();
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  document.title = "MeshChat";
  $("login-callsign").focus();
}

async function doLogin(ev) {
  ev.preventDefault();
  notify.unlockAudio();
  const raw = $("login-callsign").value;
  const callsign = normalizeCallsign(raw);
  const error = $("login-error");
  if (!callsign) {
    error.textContent = raw.trim() ? `“${raw.trim()}” is not a valid callsign. ${CALLSIGN_RULE}` : "Enter your callsign.";
    $("login-callsign").setAttribute("aria-invalid", "true");
    $("login-callsign").focus();
    return;
  }
  $("login-callsign").value = callsign;
  $("login-callsign").removeAttribute("aria-invalid");
  const passphrase = $("login-passphrase").value;
  const button = $("login-submit");
  button.disabled = true;
  error.textContent = passphrase ? "Deriving your key…" : "";
  try {
    const body = { callsign };
    if (passphrase) body.passphrase = passphrase;
    const session = await api.post("login", body);
    $("login-passphrase").value = "";
    error.textContent = "";
    await start(session);
  } catch (err) {
    error.textContent =
      err.status === 429 ? "Too many login attempts from here: wait a minute and try again." :
      err.error === "bad_callsign" || err.error === "bad_login" ? `${err.message}. ${CALLSIGN_RULE}` :
      err.message;
  } finally {
    button.disabled = false;
  }
}

async function logout() {
  try {
    await api.post("logout");
  } catch (err) {
    // Already gone on the node: show the login form anyway.
  }
  api.setCsrf(null);
  showLogin("You are logged out.");
}

function teardown() {
  if (S.live) S.live.close();
  S.live = null;
  clearInterval(S.statusTimer);
  for (const t of S.typing.values()) clearTimeout(t.timer);
  S.typing.clear();
  S.cache.clear();
  S.presence = null;
}

// -- start -----------------------------------------------------------------------------

async function start(session) {
  api.setCsrf(session.csrf_token);
  S.me = session;
  const channels = await api.get("channels", S.zone ? { zone: S.zone } : undefined);
  S.zone = channels.zone;
  S.prefs = { joins: true, sound: true, ...load("prefs", {}) };
  $("login").hidden = true;
  $("app").hidden = false;
  $("zone-name").textContent = S.zone;
  $("me").textContent = session.callsign;
  $("me").title = session.via_node
    ? "Your messages are signed by this node (no passphrase)"
    : "Your messages are signed with your own key";
  $("my-status").value = session.status || "online";
  $("opt-joins").checked = S.prefs.joins;
  $("opt-sound").checked = S.prefs.sound;
  showNotifyState();

  S.sidebar = new Sidebar({
    me: session.callsign,
    zone: S.zone,
    seen: load("seen", null),
    dms: load("dms", []),
    onSave: (name, value) => save(name, value),
    onPick: (hash) => {
      location.hash = hash;
      closeMenu();
    },
  });
  S.sidebar.setChannels(channels.channels, channels.default);
  api
    .get("dms", { zone: S.zone })
    .then((reply) => S.sidebar.setDms(reply.conversations.map((c) => c.callsign)))
    .catch(() => {}); // the remembered list stays until the node answers
  S.composer = S.composer || new Composer({ zone: S.zone, send, typing: sendTyping });
  S.composer.zone = S.zone;

  S.live = new Live(S.zone, {
    onEvent: onLiveEvent,
    onState: (state) => {
      const conn = $("conn");
      conn.textContent = state === "live" ? "live" : state === "connecting" ? "connecting…" : "offline, retrying…";
      conn.className = "conn " + state;
    },
    onDown: () => api.get("session", undefined, { quiet401: true }).catch((err) => {
      if (err.status === 401) showLogin("Your session ended: please log in again.");
    }),
  });
  S.firstHello = true;
  S.live.connect();
  // History loads after the socket's hello, so nothing falls between the two.
}

// -- the live socket ---------------------------------------------------------------------

function onLiveEvent(ev) {
  switch (ev.type) {
    case "hello":
      if (S.firstHello) {
        S.firstHello = false;
        route();
      }
      break;
    case "message":
      onMessage(ev.message, true);
      break;
    case "update":
      onUpdate(ev.message);
      break;
    case "channel":
      S.sidebar.upsertChannel(ev.channel);
      if (S.view.kind === "channel" && S.view.name === ev.channel.name) showHead();
      break;
    case "presence":
      onPresence(ev.users);
      break;
    case "typing":
      onTyping(ev);
      break;
    case "reset":
      refreshAll();
      break;
    default:
      break;
  }
}

async function refreshAll() {
  try {
    const channels = await api.get("channels", { zone: S.zone });
    S.sidebar.setChannels(channels.channels, channels.default);
  } catch (err) {
    return;
  }
  route();
}

function inView(m) {
  const v = S.view;
  if (v.kind === "all") return !m.to;
  if (v.kind === "channel") return !m.to && m.channel === v.name;
  if (v.kind === "dm") {
    return !!m.to && ((m.callsign === S.me.callsign && m.to === v.name) || (m.callsign === v.name && m.to === S.me.callsign));
  }
  return false;
}

function onMessage(m, live) {
  const known = S.cache.has(m.id);
  S.cache.put(m);
  if (known) return onUpdate(m);
  const mine = m.callsign === S.me.callsign;
  const visible = inView(m) && S.atLive && !document.hidden && $("status-page").hidden;
  if (inView(m) && S.atLive) addRows([m], false);
  else if (inView(m)) $("to-latest").hidden = false;
  if (live) {
    S.sidebar.countMessage(m, visible, mine);
    if (m.reply_to && S.threadRoot) renderThread();
    if (m.reply_to) refreshRow(m.reply_to); // its "Thread (n)" count
    const forMe = !mine && (m.to === S.me.callsign || (m.mentions || []).includes(S.me.callsign));
    if (forMe && !visible) alertUser(m);
    clearTyping(m.callsign, m.channel);
  }
  updateTitle();
}

function onUpdate(m) {
  S.cache.put(m);
  refreshRow(m.id);
  if (S.threadRoot) renderThread();
  // Replies quote this message: redraw their quotes.
  for (const id of S.cache.replies(m.id)) refreshRow(id);
}

function alertUser(m) {
  if (S.prefs.sound) notify.chirp();
  const title = m.to ? `Direct message from ${m.callsign}` : `${m.callsign} mentioned you`;
  notify.desktop(title, m.text, () => {
    location.hash = m.to ? "#/dm/" + encodeURIComponent(m.callsign) : channelHash(m.channel);
  });
}

// -- presence, typing, joins and leaves --------------------------------------------------

function onPresence(users) {
  S.sidebar.setPresence(users);
  const now = new Map(users.map((u) => [u.callsign, u]));
  if (S.presence && S.prefs.joins) {
    for (const [call, u] of now) {
      if (!S.presence.has(call) && call !== S.me.callsign) systemLine(`${call} joined (on ${u.node})`);
    }
    for (const call of S.presence.keys()) {
      if (!now.has(call) && call !== S.me.callsign) systemLine(`${call} left`);
    }
  }
  S.presence = now;
}

function systemLine(text) {
  if (!S.atLive || S.view.kind === "search") return;
  const list = $("messages");
  const stick = nearBottom(list);
  list.append(el("p", { class: "sys" }, text, " · ", new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
  if (stick) list.scrollTop = list.scrollHeight;
}

function typingKey(callsign, channel) {
  return callsign + "\n" + channel;
}

function onTyping(ev) {
  if (ev.callsign === S.me.callsign) return;
  const key = typingKey(ev.callsign, ev.channel);
  const old = S.typing.get(key);
  if (old) clearTimeout(old.timer);
  const entry = { ...ev, timer: setTimeout(() => clearTyping(ev.callsign, ev.channel), ev.expires_ms || 6000) };
  S.typing.set(key, entry);
  showTyping();
}

function clearTyping(callsign, channel) {
  const key = typingKey(callsign, channel);
  const entry = S.typing.get(key);
  if (!entry) return;
  clearTimeout(entry.timer);
  S.typing.delete(key);
  showTyping();
}

function showTyping() {
  const v = S.view;
  const who = [...S.typing.values()].filter((t) => v.kind === "all" || (v.kind === "channel" && t.channel === v.name));
  const names = who.map((t) => (v.kind === "all" && t.channel ? `${t.callsign} (#${t.channel})` : t.callsign));
  $("typing").textContent =
    names.length === 0 ? "" :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length <= 3 ? `${names.join(", ")} are typing…` : "Several people are typing…";
}

function sendTyping() {
  const v = S.view;
  if (!S.live || (v.kind !== "all" && v.kind !== "channel")) return; // never for direct messages
  const now = Date.now();
  if (now - S.lastTyping < TYPING_EVERY_MS) return;
  S.lastTyping = now;
  S.live.send({ type: "typing", channel: v.kind === "channel" ? v.name : "" });
}

// -- routing -----------------------------------------------------------------------------

function channelHash(name) {
  return name ? "#/c/" + encodeURIComponent(name) : "#/all";
}

/** decodeURIComponent, or null for a malformed escape (a hand-edited or cut-off link). */
function decodePart(text) {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    return null;
  }
}

function route() {
  if (!S.me || !S.sidebar) return;
  const hash = location.hash || "";
  let view;
  const part = (prefix) => decodePart(hash.slice(prefix.length));
  if (hash === "#/status") view = { kind: "status" };
  else if (hash.startsWith("#/c/")) view = { kind: "channel", name: part("#/c/") };
  else if (hash.startsWith("#/dm/")) view = { kind: "dm", name: normalizeCallsign(part("#/dm/")) || "" };
  else if (hash.startsWith("#/search/")) view = { kind: "search", q: part("#/search/") };
  else if (hash === "#/all") view = { kind: "all", name: "" };
  if (!view || view.name === null || view.q === null) {
    // No hash, one naming no view, or one that does not decode: the default view.
    const def = S.sidebar.defaultChannel;
    view = def ? { kind: "channel", name: def } : { kind: "all", name: "" };
  }
  if (view.kind === "dm" && !view.name) view = { kind: "all", name: "" };
  const isStatus = view.kind === "status";
  $("chat").hidden = isStatus;
  $("status-page").hidden = !isStatus;
  clearInterval(S.statusTimer);
  if (isStatus) {
    const body = $("status-body");
    renderStatus(body, S.zone);
    S.statusTimer = setInterval(() => renderStatus(body, S.zone), STATUS_REFRESH_MS);
    S.sidebar.setCurrent(null);
    document.title = "Status · MeshChat";
    $("status-title").focus({ preventScroll: true });
    return;
  }
  S.view = view;
  if (view.kind === "dm") S.sidebar.addDm(view.name);
  S.sidebar.setCurrent(view);
  S.composer.setReply(null);
  showHead();
  showTyping();
  loadLatest();
}

function showHead() {
  const v = S.view;
  const title = $("view-title");
  const topic = $("view-topic");
  $("topic-form").hidden = true;
  $("edit-topic").hidden = v.kind !== "channel";
  $("composer").hidden = v.kind === "search";
  $("typing").hidden = v.kind === "search";
  if (v.kind === "channel") {
    const ch = S.sidebar.channel(v.name);
    title.textContent = "#" + v.name;
    topic.textContent = ch && ch.topic ? ch.topic : "No topic yet.";
    $("message-input").placeholder = `Message #${v.name}`;
  } else if (v.kind === "all") {
    title.textContent = "Everything";
    topic.textContent = "Every channel of the zone. Messages sent here go to the Everything channel.";
    $("message-input").placeholder = "Message Everything";
  } else if (v.kind === "dm") {
    title.textContent = "Direct: " + v.name;
    topic.textContent = `Only you and ${v.name} see these messages.`;
    $("message-input").placeholder = `Message ${v.name}`;
  } else {
    title.textContent = "Search";
    topic.textContent = `Messages matching “${v.q}”, in every channel`;
    $("search-input").value = v.q;
  }
  updateTitle();
}

function updateTitle() {
  if (!$("status-page").hidden) return;
  const n = S.sidebar ? S.sidebar.totalUnread() : 0;
  const where = $("view-title").textContent;
  document.title = `${n ? `(${n}) ` : ""}${where} · MeshChat`;
}

// -- loading history ---------------------------------------------------------------------

function viewParams() {
  const v = S.view;
  const p = { zone: S.zone };
  if (v.kind === "channel") p.channel = v.name;
  if (v.kind === "dm") p.dm = v.name;
  if (v.kind === "search") p.q = v.q;
  return p;
}

function resetList() {
  const list = $("messages");
  clear(list);
  S.rows.clear();
  S.shown = [];
  S.fromHistory.clear();
  $("to-latest").hidden = true;
}

async function fetchPage(extra) {
  const reply = await api.get("messages", { ...viewParams(), limit: PAGE, ...extra });
  for (const m of reply.messages) S.cache.put(m);
  return reply.messages;
}

async function withLoading(fn) {
  const token = ++S.loadToken;
  S.loading = true;
  try {
    await fn(() => token === S.loadToken);
  } catch (err) {
    if (token === S.loadToken) systemLine("Could not load messages: " + err.message);
  } finally {
    if (token === S.loadToken) S.loading = false;
  }
}

function loadLatest() {
  return withLoading(async (current) => {
    const msgs = await fetchPage({});
    if (!current()) return;
    resetList();
    S.hasOlder = msgs.length === PAGE && S.view.kind !== "search";
    S.atLive = S.view.kind !== "search";
    addRows(msgs, true);
    if (S.view.kind === "search" && !msgs.length) {
      $("messages").append(el("p", { class: "sys" }, "No messages match."));
    }
    const list = $("messages");
    const firstNew = list.querySelector(".msg.unseen");
    if (firstNew && S.view.kind !== "search") firstNew.scrollIntoView({ block: "center" });
    else if (S.view.kind === "search") list.scrollTop = 0;
    else list.scrollTop = list.scrollHeight;
    S.sidebar.markSeen(S.view);
    updateTitle();
  });
}

function jump(since) {
  if (S.view.kind === "search") location.hash = "#/all";
  return withLoading(async (current) => {
    const msgs = await fetchPage({ since });
    if (!current()) return;
    resetList();
    S.hasOlder = true;
    S.atLive = msgs.length < PAGE;
    $("to-latest").hidden = S.atLive;
    addRows(msgs, true);
    if (!msgs.length) $("messages").append(el("p", { class: "sys" }, "Nothing since then."));
    $("messages").scrollTop = 0;
    S.lastScrollTop = 0;
  });
}

function loadOlder() {
  if (S.loading || !S.hasOlder || !S.shown.length) return;
  return withLoading(async (current) => {
    const msgs = await fetchPage({ before: S.shown[0] });
    if (!current()) return;
    S.hasOlder = msgs.length === PAGE;
    const list = $("messages");
    const fromBottom = list.scrollHeight - list.scrollTop;
    addRows(msgs, true);
    list.scrollTop = list.scrollHeight - fromBottom;
    S.lastScrollTop = list.scrollTop;
    placeOlderButton();
    if (!S.hasOlder) list.prepend(el("p", { class: "sys" }, "The beginning of the history."));
  });
}

function loadNewer() {
  if (S.loading || S.atLive || !S.shown.length) return;
  return withLoading(async (current) => {
    const msgs = await fetchPage({ after: S.shown[S.shown.length - 1] });
    if (!current()) return;
    S.atLive = msgs.length < PAGE;
    $("to-latest").hidden = S.atLive;
    addRows(msgs, true);
  });
}

/** Show a search hit among its neighbours in its channel or conversation. */
function openInContext(m) {
  const view = m.to
    ? { kind: "dm", name: m.callsign === S.me.callsign ? m.to : m.callsign }
    : { kind: "channel", name: m.channel };
  if (!view.name && view.kind === "channel") Object.assign(view, { kind: "all" });
  history.replaceState(null, "", view.kind === "dm" ? "#/dm/" + encodeURIComponent(view.name) : channelHash(view.name));
  S.view = view;
  S.sidebar.setCurrent(view);
  showHead();
  return withLoading(async (current) => {
    const [before, after] = await Promise.all([
      api.get("messages", { ...viewParams(), limit: CONTEXT, before: m.id }),
      api.get("messages", { ...viewParams(), limit: CONTEXT, after: m.id }),
    ]);
    if (!current()) return;
    resetList();
    const msgs = [...before.messages, m, ...after.messages];
    for (const x of msgs) S.cache.put(x);
    S.hasOlder = before.messages.length === CONTEXT;
    S.atLive = after.messages.length < CONTEXT;
    $("to-latest").hidden = S.atLive;
    addRows(msgs, true);
    const row = S.rows.get(m.id);
    if (row) {
      row.classList.add("hit");
      row.scrollIntoView({ block: "center" });
      row.focus({ preventScroll: true });
    }
  });
}

// -- rows ----------------------------------------------------------------------------------

function order(a, b) {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function rowContext() {
  return {
    me: S.me.callsign,
    myKey: S.me.key,
    showChannel: S.view.kind === "all" || S.view.kind === "search",
    lookup: (id) => S.cache.get(id),
    replies: (id) => S.cache.replyCount(id),
    reply: (m) => S.composer.setReply(m),
    thread: (id) => openThread(id),
    react: (m, emoji) => act(() => api.post(`messages/${m.id}/reactions`, { emoji })),
    unreact: (m, r, index) => unreact(m, r, index),
    edit: (m) => {
      const row = S.rows.get(m.id) || document.querySelector(`#thread-messages [data-id="${m.id}"]`);
      if (row) {
        startEdit(row, m, (text) => api.patch(`messages/${m.id}`, { text }), () => {
          refreshRow(m.id);
          if (S.threadRoot) renderThread();
        });
      }
    },
    remove: (m) => act(() => api.del(`messages/${m.id}`)),
  };
}

function unreact(m, r, index) {
  const ids = r.ids || r.record_ids;
  if (!ids || !ids[index]) {
    // The API does not yet name reaction records: see the gap list in the report.
    systemLine("Taking a reaction back needs a newer node.");
    return;
  }
  act(() => api.del(`reactions/${ids[index]}`));
}

async function act(fn) {
  try {
    await fn();
  } catch (err) {
    systemLine("Not done: " + err.message);
  }
}

function buildRow(m, history) {
  const row = messageRow(m, rowContext());
  const lastVisit = S.me.last_visit;
  if ((history || S.fromHistory.has(m.id)) && lastVisit && m.ts > lastVisit && m.callsign !== S.me.callsign) {
    row.classList.add("unseen");
    row.append(el("span", { class: "visually-hidden" }, " (new since your last visit)"));
    S.fromHistory.add(m.id);
  }
  return row;
}

/** Insert messages into the main list in (ts, id) order, skipping those already shown. */
function addRows(msgs, history) {
  const list = $("messages");
  const stick = nearBottom(list);
  for (const m of [...msgs].sort(order)) {
    if (S.rows.has(m.id)) {
      refreshRow(m.id);
      continue;
    }
    const row = buildRow(m, history);
    let i = S.shown.length;
    while (i > 0 && order(S.cache.get(S.shown[i - 1]), m) > 0) i -= 1;
    const next = i < S.shown.length ? S.rows.get(S.shown[i]) : null;
    if (next) list.insertBefore(row, next);
    else list.append(row);
    S.shown.splice(i, 0, m.id);
    S.rows.set(m.id, row);
  }
  placeDivider();
  placeOlderButton();
  if (!history && stick) list.scrollTop = list.scrollHeight;
  S.lastScrollTop = list.scrollTop;
}

/** A "Load earlier messages" button at the top while there is more (keyboard and touch). */
function placeOlderButton() {
  const list = $("messages");
  const old = list.querySelector(".load-older");
  if (old) old.remove();
  if (S.hasOlder && S.shown.length) {
    list.prepend(el("button", { type: "button", class: "load-older link-btn", onclick: () => loadOlder() },
      "Load earlier messages"));
  }
}

function placeDivider() {
  const list = $("messages");
  const old = list.querySelector(".new-divider");
  if (old) old.remove();
  const first = list.querySelector(".msg.unseen");
  if (first) first.before(el("div", { class: "new-divider", role: "separator" }, "New since your last visit"));
}

function refreshRow(id) {
  const m = S.cache.get(id);
  const old = S.rows.get(id);
  if (!m || !old) return;
  if (old.querySelector(".edit-form")) return; // do not throw away an edit in progress
  const row = buildRow(m, false);
  if (old.classList.contains("hit")) row.classList.add("hit");
  old.replaceWith(row);
  S.rows.set(id, row);
}

function nearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

// -- threads -------------------------------------------------------------------------------

function openThread(id) {
  S.threadRoot = S.cache.rootOf(id);
  $("thread").hidden = false;
  document.body.classList.add("thread-open");
  renderThread();
  $("thread-input").focus();
  // Replies that are not loaded yet (older, or in other channels) come from the node.
  const root = S.threadRoot;
  api
    .get("messages", { zone: S.zone, thread: root })
    .then((reply) => {
      for (const m of reply.messages) if (!S.cache.has(m.id)) S.cache.put(m);
      if (S.threadRoot === root) renderThread();
    })
    .catch(() => {}); // the thread shows what is loaded
}

function closeThread() {
  S.threadRoot = null;
  $("thread").hidden = true;
  document.body.classList.remove("thread-open");
}

function renderThread() {
  const box = $("thread-messages");
  clear(box);
  const root = S.cache.get(S.threadRoot);
  const members = S.cache.thread(S.threadRoot).sort(order);
  const ctx = { ...rowContext(), showChannel: true, reply: () => $("thread-input").focus() };
  if (!root) box.append(el("p", { class: "sys" }, "The first message of this thread is not loaded; scroll back to find it."));
  for (const m of members) box.append(messageRow(m, ctx));
}

async function sendThreadReply(ev) {
  ev.preventDefault();
  const input = $("thread-input");
  const root = S.cache.get(S.threadRoot);
  if (!input.value.trim() || !root) return;
  const body = { zone: S.zone, channel: root.channel, text: input.value, reply_to: root.id };
  if (root.to) body.to = root.callsign === S.me.callsign ? root.to : root.callsign;
  try {
    await api.post("messages", body);
    input.value = "";
  } catch (err) {
    systemLine("Not sent: " + err.message);
  }
}

// -- sending -------------------------------------------------------------------------------

async function send(text, replyTo, geo) {
  const v = S.view;
  const body = { zone: S.zone, channel: v.kind === "channel" ? v.name : "", text };
  if (v.kind === "dm") body.to = v.name;
  if (replyTo) {
    body.reply_to = replyTo.id;
    if (v.kind === "all") body.channel = replyTo.channel; // answer where the question was
  }
  if (geo) body.geo = geo;
  if (!S.atLive) loadLatest();
  await api.post("messages", body);
}

// -- wiring --------------------------------------------------------------------------------

function closeMenu() {
  document.body.classList.remove("menu-open");
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

function showNotifyState() {
  const state = notify.notificationState();
  $("opt-notify").hidden = state !== "default";
  $("notify-state").textContent =
    state === "granted" ? "Desktop notifications are on." :
    state === "denied" ? "Desktop notifications are blocked in this browser." :
    state === "unsupported" ? "This browser has no desktop notifications." : "";
}

function wire() {
  $("login-form").addEventListener("submit", doLogin);
  $("logout").addEventListener("click", logout);
  $("logout-phone").addEventListener("click", logout);
  $("menu-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("menu-open");
    $("menu-toggle").setAttribute("aria-expanded", String(open));
  });
  $("settings-toggle").addEventListener("click", () => {
    const box = $("settings");
    box.hidden = !box.hidden;
    $("settings-toggle").setAttribute("aria-expanded", String(!box.hidden));
  });
  $("opt-joins").addEventListener("change", (ev) => {
    S.prefs.joins = ev.target.checked;
    save("prefs", S.prefs);
  });
  $("opt-sound").addEventListener("change", (ev) => {
    S.prefs.sound = ev.target.checked;
    save("prefs", S.prefs);
    if (S.prefs.sound) notify.unlockAudio();
  });
  $("opt-notify").addEventListener("click", async () => {
    await notify.askPermission();
    showNotifyState();
  });
  $("my-status").addEventListener("change", async (ev) => {
    try {
      await api.post("presence", { status: ev.target.value });
    } catch (err) {
      systemLine("Status not changed: " + err.message);
    }
  });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = $("search-input").value.trim();
    if (q) location.hash = "#/search/" + encodeURIComponent(q);
  });
  for (const button of document.querySelectorAll(".jumps button")) {
    button.addEventListener("click", () => jump(button.dataset.since));
  }
  $("to-latest").addEventListener("click", () => loadLatest());
  $("messages").addEventListener("scroll", () => {
    // Only a scroll by the user toward the top loads older pages; a list that was just
    // replaced (a jump, a search hit) starts at the top without fetching what lies before.
    const list = $("messages");
    const up = list.scrollTop < S.lastScrollTop;
    S.lastScrollTop = list.scrollTop;
    if (up && list.scrollTop < 150) loadOlder();
    if (!up && nearBottom(list)) loadNewer();
  });
  $("messages").addEventListener("wheel", (ev) => {
    if (ev.deltaY < 0 && $("messages").scrollTop === 0) loadOlder();
  }, { passive: true });
  $("messages").addEventListener("click", (ev) => {
    const row = ev.target.closest(".msg");
    if (row && S.view.kind === "search" && !ev.target.closest("button, a")) {
      const m = S.cache.get(row.dataset.id);
      if (m) openInContext(m);
    }
  });
  $("messages").addEventListener("keydown", (ev) => {
    const row = ev.target.closest && ev.target.closest(".msg");
    if (ev.key === "Enter" && row && ev.target === row && S.view.kind === "search") {
      const m = S.cache.get(row.dataset.id);
      if (m) openInContext(m);
    }
  });
  $("edit-topic").addEventListener("click", () => {
    const ch = S.sidebar.channel(S.view.name);
    $("topic-input").value = ch ? ch.topic : "";
    $("topic-form").hidden = false;
    $("topic-input").focus();
  });
  $("topic-cancel").addEventListener("click", () => {
    $("topic-form").hidden = true;
  });
  $("topic-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.post("channels", { zone: S.zone, name: S.view.name, topic: $("topic-input").value });
      $("topic-form").hidden = true;
    } catch (err) {
      $("view-topic").textContent = "Topic not saved: " + err.message;
    }
  });
  $("thread-close").addEventListener("click", closeThread);
  $("thread-composer").addEventListener("submit", sendThreadReply);
  $("thread-input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("thread-composer").requestSubmit();
    }
    if (ev.key === "Escape") closeThread();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && S.sidebar && S.atLive) {
      S.sidebar.markSeen(S.view);
      updateTitle();
    }
  });
  document.addEventListener("pointerdown", notify.unlockAudio, { once: true });
  document.addEventListener("keydown", notify.unlockAudio, { once: true });
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || !document.body.classList.contains("menu-open")) return;
    closeMenu();
    $("menu-toggle").focus();
  });
  $("main").addEventListener("pointerdown", () => closeMenu());
  api.setLoggedOutHandler(() => showLogin("Your session ended: please log in again."));
}

async function boot() {
  wire();
  try {
    const session = await api.get("session", undefined, { quiet401: true });
    await start(session);
  } catch (err) {
    showLogin(err.status === 401 ? "" : err.message);
  }
}

boot();
