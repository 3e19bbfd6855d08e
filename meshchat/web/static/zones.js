// The zones this node serves: what the login page says about the node, the zone to log
// in to, the switcher in the top bar with the unread count of every other zone (asked of
// the node every POLL_MS, when the menu opens and when the tab comes back), and which
// zone each callsign used last.

import * as api from "./api.js";
import { $, clear, el } from "./dom.js";
import { loadIn } from "./prefs.js";
import { S } from "./state.js";

const POLL_MS = 30000;
const LAST = "meshchat:last-zone";

let info = null; // GET /api/v1/status, unauthenticated: {node: {name}, zones: [{name}]}
let timer = null;
let switchTo = () => {};
const others = new Map(); // zone -> unread count there
let picked = false; // the user chose a zone on the login page now shown

/** The node's name and zones (asked once per page). */
export async function nodeInfo() {
  if (!info) info = await api.get("status");
  return info;
}

export function zoneNames() {
  return info ? info.zones.map((z) => z.name) : S.zone ? [S.zone] : [];
}

function remembered(callsign) {
  try {
    return localStorage.getItem(callsign ? `meshchat:${callsign}:zone` : LAST);
  } catch (err) {
    return null;
  }
}

/** Note that ``callsign`` uses ``zone`` (the next login and reload start there). */
export function rememberZone(callsign, zone) {
  try {
    localStorage.setItem(`meshchat:${callsign}:zone`, zone);
    localStorage.setItem(LAST, zone);
  } catch (err) {
    // Storage disabled: the node's first zone next time.
  }
}

/** The zone to open for ``callsign``: the one last used, if this node still serves it. */
export function startZone(callsign) {
  const names = zoneNames();
  const last = remembered(callsign);
  return last && names.includes(last) ? last : names[0] || null;
}

/** Name the node and its zones on the login page; offer the zones when there are several. */
export async function showLoginInfo() {
  picked = false; // before the wait: a choice made meanwhile is the user's, and stays
  let st;
  try {
    st = await nodeInfo();
  } catch (err) {
    return; // the form works without it
  }
  const names = st.zones.map((z) => z.name);
  $("login-node").textContent =
    `Node ${st.node.name} · ${names.length === 1 ? "zone" : "zones"} ${names.join(", ")}`;
  const select = $("login-zone");
  const chosen = select.value;
  if ([...select.options].map((o) => o.value).join("\n") !== names.join("\n")) {
    clear(select);
    for (const name of names) select.append(el("option", { value: name }, name));
  }
  const last = remembered(null);
  if (picked && names.includes(chosen)) select.value = chosen;
  else if (last && names.includes(last)) select.value = last;
  $("login-zone-row").hidden = names.length < 2;
}

/** The zone picked on the login page (null when the node has only one). */
export function loginZone() {
  return $("login-zone-row").hidden ? null : $("login-zone").value || null;
}

/** Show the switcher for the current zone; ``onSwitch(zone)`` changes to another. */
export function showZones(onSwitch) {
  switchTo = onSwitch;
  const names = zoneNames();
  const button = $("zone-switch");
  $("zone-name").textContent = S.zone;
  button.disabled = names.length < 2;
  button.title = names.length < 2 ? "The zone this node serves" : "Switch zone";
  others.clear();
  drawBadge();
  clearInterval(timer);
  timer = null;
  if (names.length > 1) {
    timer = setInterval(refreshOthers, POLL_MS);
    refreshOthers();
  }
}

export function stopZones() {
  clearInterval(timer);
  timer = null;
  closeZoneMenu();
}

/** Ask the node how much is unread in each other zone, by that zone's own read marks. */
export async function refreshOthers() {
  if (!S.me) return;
  const floor = S.me.last_visit || S.startedAt;
  await Promise.all(
    zoneNames()
      .filter((z) => z !== S.zone)
      .map(async (zone) => {
        const read = loadIn(zone, "read", { c: {}, d: {} });
        try {
          const reply = await api.post("unread", { zone, floor, channels: read.c || {}, dms: read.d || {} });
          const sum = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0);
          others.set(zone, sum(reply.channels) + sum(reply.dms));
        } catch (err) {
          // Keep the last count: the next poll tries again.
        }
      }),
  );
  drawBadge();
  if (!$("zone-menu").hidden) drawMenu();
}

function drawBadge() {
  let n = 0;
  for (const v of others.values()) n += v;
  const badge = $("zone-unread");
  badge.hidden = !n;
  clear(badge);
  badge.append(String(n), el("span", { class: "visually-hidden" }, " unread in other zones"));
}

function drawMenu() {
  const menu = $("zone-menu");
  const focused = menu.contains(document.activeElement) ? document.activeElement.dataset.zone : null;
  clear(menu);
  for (const zone of zoneNames()) {
    const here = zone === S.zone;
    const n = here ? (S.sidebar ? S.sidebar.totalUnread() : 0) : others.get(zone) || 0;
    menu.append(
      el(
        "button",
        {
          type: "button",
          class: "zone-item",
          "data-zone": zone,
          "aria-current": here ? "true" : null,
          onclick: () => {
            closeZoneMenu();
            if (!here) switchTo(zone);
          },
        },
        el("span", { class: "nav-label" }, zone),
        n ? el("span", { class: "badge" }, String(n), el("span", { class: "visually-hidden" }, " unread")) : null,
      ),
    );
  }
  if (focused) {
    const again = [...menu.children].find((b) => b.dataset.zone === focused);
    if (again) again.focus(); // a redraw with new counts keeps the keyboard where it was
  }
}

export function closeZoneMenu() {
  $("zone-menu").hidden = true;
  $("zone-switch").setAttribute("aria-expanded", "false");
}

export function wireZones() {
  $("login-zone").addEventListener("change", () => {
    picked = true;
  });
  $("zone-switch").addEventListener("click", () => {
    const menu = $("zone-menu");
    if (!menu.hidden) return closeZoneMenu();
    drawMenu();
    menu.hidden = false;
    $("zone-switch").setAttribute("aria-expanded", "true");
    menu.querySelector("button").focus();
    refreshOthers();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || $("zone-menu").hidden) return;
    closeZoneMenu();
    $("zone-switch").focus();
  });
  document.addEventListener("pointerdown", (ev) => {
    if (!$("zone-menu").hidden && !ev.target.closest(".zone-box")) closeZoneMenu();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer) refreshOthers();
  });
}
