// The location hash is the view: #/all, #/c/NAME, #/dm/CALL, #/search/TEXT, #/files, #/status.
// route() shows the view the hash names. A hash that names none, or whose name does not
// decode (a hand-edited or cut-off link), shows the default view: the node's default
// channel if it has one, else Everything.

import { $, normalizeCallsign } from "./dom.js";
import { settleFolds } from "./fold.js";
import { loadAround, loadLatest } from "./paging.js";
import { showTyping } from "./presence.js";
import { S } from "./state.js";
import { showFiles } from "./files.js";
import { renderStatus } from "./status.js";
import { showAttach } from "./upload.js";
import { showHead } from "./view.js";

const STATUS_REFRESH_MS = 10000;

const everything = () => ({ kind: "all", name: "" });

// Each prefix and the view its decoded rest names.
const ROUTES = [
  ["#/c/", (name) => ({ kind: "channel", name })],
  ["#/dm/", (call) => {
    const name = normalizeCallsign(call);
    return name ? { kind: "dm", name } : everything(); // not a callsign: not a conversation
  }],
  ["#/search/", (q) => ({ kind: "search", q })],
];

let statusTimer = null;

/** decodeURIComponent, or null for a malformed escape (it throws URIError). */
function decode(text) {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    return null;
  }
}

/** The view ``hash`` names, or the default view (``defaultChannel``, else Everything). */
function parseHash(hash, defaultChannel) {
  if (hash === "#/status") return { kind: "status" };
  if (hash === "#/files") return { kind: "files" };
  if (hash === "#/all") return everything();
  for (const [prefix, view] of ROUTES) {
    if (!hash.startsWith(prefix)) continue;
    const rest = decode(hash.slice(prefix.length));
    if (rest !== null) return view(rest);
    break;
  }
  return defaultChannel ? { kind: "channel", name: defaultChannel } : everything();
}

export function channelHash(name) {
  return name ? "#/c/" + encodeURIComponent(name) : "#/all";
}

export function dmHash(callsign) {
  return "#/dm/" + encodeURIComponent(callsign);
}

/** Show the view the location hash names (on login, on every hashchange, after a reset). */
export function route() {
  if (!S.me || !S.sidebar) return;
  const view = parseHash(location.hash || "", S.sidebar.defaultChannel);
  const isStatus = view.kind === "status";
  const isFiles = view.kind === "files";
  $("chat").hidden = isStatus || isFiles;
  $("status-page").hidden = !isStatus;
  $("files-page").hidden = !isFiles;
  stopStatusRefresh();
  if (isFiles) {
    S.sidebar.setCurrent(null);
    showFiles();
    return;
  }
  if (isStatus) {
    const body = $("status-body");
    renderStatus(body, S.zone);
    statusTimer = setInterval(() => renderStatus(body, S.zone), STATUS_REFRESH_MS);
    S.sidebar.setCurrent(null);
    document.title = "Status · MeshChat";
    $("status-title").focus({ preventScroll: true });
    return;
  }
  S.view = view;
  settleFolds($("chat")); // rows that came while the chat was hidden are measured now
  if (view.kind !== "search") document.body.classList.remove("tools-open");
  if (view.kind === "dm") S.sidebar.addDm(view.name);
  S.sidebar.setCurrent(view);
  S.composer.setReply(null);
  showAttach();
  showHead();
  showTyping();
  loadLatest();
}

export function stopStatusRefresh() {
  clearInterval(statusTimer);
}

/** Show search hit ``m`` among its neighbours, in its channel or conversation. */
export function openInContext(m) {
  const view = m.to
    ? { kind: "dm", name: m.callsign === S.me.callsign ? m.to : m.callsign }
    : { kind: "channel", name: m.channel };
  if (!view.name && view.kind === "channel") Object.assign(view, { kind: "all" });
  // replaceState fires no hashchange: route() would load the latest page over the context.
  history.replaceState(null, "", view.kind === "dm" ? dmHash(view.name) : channelHash(view.name));
  S.view = view;
  S.sidebar.setCurrent(view);
  showHead();
  return loadAround(m);
}
