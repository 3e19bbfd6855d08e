// MeshChat in the browser, and the composition root of its modules: login and logout,
// the start and end of one session (in one zone), and which module answers what. The
// rest is in
//   state.js     what the modules share          router.js   location hash -> view
//   view.js      the current view's head, title   paging.js   history: latest, older, jumps
//   list.js      the main message list's rows     threads.js  the thread panel
//   events.js    what the live socket's frames do presence.js online list, joins, typing
//   send.js      the main composer's wiring       controls.js the page's other controls
//   cache.js     messages seen, by id and reply   prefs.js    per-user storage, settings
//   outbox.js    messages being sent              search.js   search results
//   zones.js     login info, the zone switcher    time.js     clocks, dates, day separators
//   emoji.js     reactions and the picker         icons.js    the controls' SVG icons
//   actions.js   a row's chips and actions        fold.js     long messages folded
//   access.js    moderation, refusals, hidden     members.js  a channel's members panel
// (and the older api, compose, dom, live, messages, notify, sidebar and status modules).

import { loadModeration } from "./access.js";
import * as api from "./api.js";
import { showContacts } from "./contacts.js";
import { closeMenu, wireControls } from "./controls.js";
import { $, CALLSIGN_RULE, normalizeCallsign } from "./dom.js";
import { checkEmojiFont } from "./emoji.js";
import { liveEvents } from "./events.js";
import { fillIcons } from "./icons.js";
import { wireFiles } from "./files.js";
import { configureList, refreshRow } from "./list.js";
import { Live } from "./live.js";
import { wireMembers } from "./members.js";
import * as notify from "./notify.js";
import { arrived, configureOutbox, mainBox, resetOutbox, setYoursHandler } from "./outbox.js";
import { loadOlder } from "./paging.js";
import { closeSettings, load, loadPrefs, save, showPrefs } from "./prefs.js";
import { resetPresence } from "./presence.js";
import { stopStatusRefresh } from "./router.js";
import { mainPlace, useComposer } from "./send.js";
import { mergeRead, Sidebar } from "./sidebar.js";
import { S } from "./state.js";
import { closeThread, openThread, refreshThread, restoreReply, threadPlace } from "./threads.js";
import { loginZone, nodeInfo, rememberZone, showLoginInfo, showZones, startZone, stopZones, wireZones } from "./zones.js";
import { wireUploads } from "./upload.js";

// -- login -----------------------------------------------------------------------------

function showLogin(message) {
  teardown();
  resetOutbox();
  S.zone = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  document.title = "MeshChat";
  showLoginInfo();
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
    const zone = loginZone();
    if (zone) rememberZone(session.callsign, zone);
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
  // The socket goes first: the node closes it on logout, and a socket that reports its
  // end would show the login form a second time, over a zone already picked there.
  if (S.live) S.live.close();
  S.live = null;
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
  stopStatusRefresh();
  stopZones();
  resetPresence();
  closeThread();
  S.cache.clear();
  S.yours.clear();
  closeSettings();
}

// -- one session, in one zone ------------------------------------------------------------

function showConnection(state) {
  const conn = $("conn");
  const retryAt = S.live && S.live.retryAt;
  const wait = retryAt ? Math.max(0, Math.round((retryAt - Date.now()) / 1000)) : 0;
  conn.textContent = state === "live" ? "live" : state === "connecting" ? "connecting…" :
    wait ? `offline, retrying in ${wait} s` : "offline, retrying…";
  conn.className = "conn " + state;
  $("reconnect").hidden = state === "live";
}

async function start(session) {
  api.setCsrf(session.csrf_token);
  S.me = session;
  S.startedAt = Date.now();
  try {
    await nodeInfo();
  } catch (err) {
    // The zones stay unknown: the node's first one is used.
  }
  S.zone = startZone(session.callsign);
  loadPrefs();
  // Read up to the last visit wherever nothing more precise is known; on a first visit,
  // nothing that is already there counts as unread.
  const floor = session.last_visit || S.startedAt;
  const read = load("read", { c: {}, d: {} });
  const [channels, unread] = await Promise.all([
    api.get("channels", S.zone ? { zone: S.zone } : undefined),
    session.last_visit
      ? api.post("unread", { zone: S.zone || undefined, floor, channels: read.c || {}, dms: read.d || {} }).catch(() => null)
      : null,
  ]);
  S.zone = channels.zone;
  rememberZone(session.callsign, S.zone);
  $("login").hidden = true;
  $("app").hidden = false;
  $("me").textContent = session.callsign;
  $("me-info").textContent = session.via_node
    ? `Logged in as ${session.callsign}; this node signs your messages (no passphrase).`
    : `Logged in as ${session.callsign}; your own key signs your messages.`;
  $("me").title = $("me-info").textContent;
  $("my-status").value = session.status || "online";
  showPrefs();
  showContacts();
  showZones(switchZone);

  await loadModeration();
  S.sidebar = new Sidebar({
    me: session.callsign,
    viaNode: session.via_node,
    zone: S.zone,
    read,
    floor,
    dms: load("dms", []),
    onSave: (name, value) => save(name, name === "read" ? mergeRead(load("read", null), value) : value),
    onPick: (hash) => {
      location.hash = hash;
      closeMenu();
    },
  });
  S.sidebar.setChannels(channels.channels, channels.default);
  if (unread) S.sidebar.setUnread(unread);
  api
    .get("dms", { zone: S.zone })
    .then((reply) => S.sidebar.setDms(reply.conversations.map((c) => c.callsign)))
    .catch(() => {}); // the remembered list stays until the node answers
  useComposer(S.zone);

  S.live = new Live(S.zone, {
    onEvent: liveEvents(), // its first hello shows the view the hash names
    onState: showConnection,
    onDown: () => api.get("session", undefined, { quiet401: true }).catch((err) => {
      if (err.status === 401) showLogin("Your session ended: please log in again.");
    }),
  });
  S.live.connect();
}

/** Leave this zone for ``zone``: its own channels, unread counts, socket and view. */
async function switchZone(zone) {
  teardown();
  rememberZone(S.me.callsign, zone);
  history.replaceState(null, "", location.pathname); // a view of the old zone means nothing here
  try {
    await start(S.me);
  } catch (err) {
    showLogin(err.message);
  }
}

// -- boot ----------------------------------------------------------------------------------

async function boot() {
  checkEmojiFont();
  fillIcons(document);
  configureList({ openThread, threadChanged: refreshThread, loadOlder, arrived, pending: mainBox });
  configureOutbox({
    main: mainPlace,
    thread: threadPlace,
    edit: (place, text) => (place.startsWith("thread:") ? restoreReply(place, text) : S.composer.restore(text)),
  });
  $("login-form").addEventListener("submit", doLogin);
  $("logout").addEventListener("click", logout);
  $("logout-phone").addEventListener("click", logout);
  $("reconnect").addEventListener("click", () => S.live && S.live.reconnectNow());
  setInterval(() => S.live && !S.live.ws && showConnection("offline"), 1000); // the countdown
  wireControls();
  wireMembers();
  wireZones();
  wireFiles();
  wireUploads();
  api.setLoggedOutHandler(() => showLogin("Your session ended: please log in again."));
  setYoursHandler((id) => refreshRow(id)); // shown before its POST answered: now with its actions
  api.setAnswerHandler(() => S.live && S.live.linkAnswered());
  try {
    const session = await api.get("session", undefined, { quiet401: true });
    await start(session);
  } catch (err) {
    showLogin(err.status === 401 ? "" : err.message);
  }
}

boot();
