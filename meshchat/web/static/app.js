// MeshChat in the browser, and the composition root of its modules: login and logout,
// the start and end of one session, and which module answers what. The rest is in
//   state.js     what the modules share          router.js   location hash -> view
//   view.js      the current view's head, title   paging.js   history: latest, older, jumps
//   list.js      the main message list's rows     threads.js  the thread panel
//   events.js    what the live socket's frames do presence.js online list, joins, typing
//   send.js      the main composer's wiring       controls.js the page's other controls
//   cache.js     messages seen, by id and reply   prefs.js    per-user storage, settings
// (and the older api, compose, dom, live, messages, notify, sidebar and status modules).

import * as api from "./api.js";
import { showContacts } from "./contacts.js";
import { closeMenu, wireControls } from "./controls.js";
import { $, CALLSIGN_RULE, normalizeCallsign } from "./dom.js";
import { liveEvents } from "./events.js";
import { wireFiles } from "./files.js";
import { configureList } from "./list.js";
import { Live } from "./live.js";
import * as notify from "./notify.js";
import { loadOlder } from "./paging.js";
import { load, loadPrefs, save, showPrefs } from "./prefs.js";
import { resetPresence } from "./presence.js";
import { stopStatusRefresh } from "./router.js";
import { useComposer } from "./send.js";
import { Sidebar } from "./sidebar.js";
import { S } from "./state.js";
import { openThread, refreshThread } from "./threads.js";
import { wireUploads } from "./upload.js";

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
  stopStatusRefresh();
  resetPresence();
  S.cache.clear();
}

// -- one session -------------------------------------------------------------------------

async function start(session) {
  api.setCsrf(session.csrf_token);
  S.me = session;
  const channels = await api.get("channels", S.zone ? { zone: S.zone } : undefined);
  S.zone = channels.zone;
  loadPrefs();
  $("login").hidden = true;
  $("app").hidden = false;
  $("zone-name").textContent = S.zone;
  $("me").textContent = session.callsign;
  $("me").title = session.via_node
    ? "Your messages are signed by this node (no passphrase)"
    : "Your messages are signed with your own key";
  $("my-status").value = session.status || "online";
  showPrefs();
  showContacts();

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
  useComposer(S.zone);

  S.live = new Live(S.zone, {
    onEvent: liveEvents(), // its first hello shows the view the hash names
    onState: (state) => {
      const conn = $("conn");
      conn.textContent = state === "live" ? "live" : state === "connecting" ? "connecting…" : "offline, retrying…";
      conn.className = "conn " + state;
    },
    onDown: () => api.get("session", undefined, { quiet401: true }).catch((err) => {
      if (err.status === 401) showLogin("Your session ended: please log in again.");
    }),
  });
  S.live.connect();
}

// -- boot ----------------------------------------------------------------------------------

async function boot() {
  configureList({ openThread, threadChanged: refreshThread, loadOlder });
  $("login-form").addEventListener("submit", doLogin);
  $("logout").addEventListener("click", logout);
  $("logout-phone").addEventListener("click", logout);
  wireControls();
  wireFiles();
  wireUploads();
  api.setLoggedOutHandler(() => showLogin("Your session ended: please log in again."));
  try {
    const session = await api.get("session", undefined, { quiet401: true });
    await start(session);
  } catch (err) {
    showLogin(err.status === 401 ? "" : err.message);
  }
}

boot();
