// Who is around: the online list (drawn by the sidebar), join and leave lines in the
// message list, and typing notices: others' shown as "… is typing", ours sent to the zone.

import { $ } from "./dom.js";
import { systemLine } from "./list.js";
import { S } from "./state.js";

const TYPING_EVERY_MS = 3000; // repeat a notice while typing; the node's lapse is longer
const TYPING_LAPSE_MS = 6000; // only for a notice that does not say (the node's expires_ms)

let known = null; // Map callsign -> user as last told, for join/leave lines
const typing = new Map(); // "CALL\nchannel" -> {callsign, node, channel, timer}
let lastTyping = 0;

/** Forget this session's presence and typing notices (logout, session end). */
export function resetPresence() {
  for (const t of typing.values()) clearTimeout(t.timer);
  typing.clear();
  known = null;
}

let current = new Map(); // "CALL\nnode" -> user: the list as told, changes applied

/** The whole list (sent once after hello). */
export function onPresence(users) {
  current = new Map(users.map((u) => [u.callsign + "\n" + u.node, u]));
  showPresence(users);
}

/** What changed since the last frame: users set (joined or changed) and gone. */
export function onPresenceDelta(ev) {
  for (const u of ev.set || []) current.set(u.callsign + "\n" + u.node, u);
  for (const [call, node] of ev.gone || []) current.delete(call + "\n" + node);
  showPresence([...current.values()]);
}

function showPresence(users) {
  S.sidebar.setPresence(users);
  const now = new Map(users.map((u) => [u.callsign, u]));
  if (known && S.prefs.joins) {
    for (const [call, u] of now) {
      if (!known.has(call) && call !== S.me.callsign) systemLine(`${call} joined (on ${u.node})`);
    }
    for (const call of known.keys()) {
      if (!now.has(call) && call !== S.me.callsign) systemLine(`${call} left`);
    }
  }
  known = now;
}

function typingKey(callsign, channel) {
  return callsign + "\n" + channel;
}

export function onTyping(ev) {
  if (ev.callsign === S.me.callsign) return;
  const key = typingKey(ev.callsign, ev.channel);
  const old = typing.get(key);
  if (old) clearTimeout(old.timer);
  const lapse = ev.expires_ms || TYPING_LAPSE_MS;
  const entry = { ...ev, timer: setTimeout(() => clearTyping(ev.callsign, ev.channel), lapse) };
  typing.set(key, entry);
  showTyping();
}

/** Drop ``callsign``'s notice for ``channel`` (it lapsed, or their message arrived). */
export function clearTyping(callsign, channel) {
  const key = typingKey(callsign, channel);
  const entry = typing.get(key);
  if (!entry) return;
  clearTimeout(entry.timer);
  typing.delete(key);
  showTyping();
}

/** Show who is typing in the current view. */
export function showTyping() {
  const v = S.view;
  const who = [...typing.values()].filter((t) => v.kind === "all" || (v.kind === "channel" && t.channel === v.name));
  const names = who.map((t) => (v.kind === "all" && t.channel ? `${t.callsign} (#${t.channel})` : t.callsign));
  $("typing").textContent =
    names.length === 0 ? "" :
    names.length === 1 ? `${names[0]} is typing…` :
    names.length <= 3 ? `${names.join(", ")} are typing…` : "Several people are typing…";
}

/** Tell the zone that we are typing in the current view, at most every few seconds. */
export function sendTyping() {
  const v = S.view;
  if (!S.live || (v.kind !== "all" && v.kind !== "channel")) return; // never for direct messages
  const now = Date.now();
  if (now - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = now;
  S.live.send({ type: "typing", channel: v.kind === "channel" ? v.name : "" });
}
