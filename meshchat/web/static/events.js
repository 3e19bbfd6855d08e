// What each frame of the live socket (docs/live-api.md) does to the page: new and
// changed messages, channels, presence, typing, and a reset that reloads everything.

import { showRefusal } from "./access.js";
import * as api from "./api.js";
import { $ } from "./dom.js";
import { addRows, refreshReplies, refreshRow, removeRow, resetList, systemLine } from "./list.js";
import * as notify from "./notify.js";
import { arrivedLive } from "./outbox.js";
import { clearTyping, onPresence, onPresenceDelta, onTyping } from "./presence.js";
import { channelHash, dmHash, route } from "./router.js";
import { S } from "./state.js";
import { refreshThread } from "./threads.js";
import { inView, showHead, updateTitle } from "./view.js";

/** A handler for one Live connection's frames. History loads after its first hello,
 * so nothing falls between the page and the socket. */
export function liveEvents() {
  let firstHello = true;
  return (ev) => {
    switch (ev.type) {
      case "hello":
        if (firstHello) {
          firstHello = false;
          route();
        }
        break;
      case "message":
        onMessage(ev.message, ev.cursor);
        break;
      case "update":
        onUpdate(ev.message);
        break;
      case "channel":
        onChannel(ev.channel);
        break;
      case "hidden":
        removeRow(ev.id);
        break;
      case "banned":
        onBanned(ev.author);
        break;
      case "presence":
        onPresence(ev.users);
        break;
      case "presence_delta":
        onPresenceDelta(ev);
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
  };
}

/** A channel changed: a new member learns it was invited, a removed one that it was. */
function onChannel(c) {
  const known = S.sidebar.channel(c.name);
  const here = S.view.kind === "channel" && S.view.name === c.name;
  S.sidebar.upsertChannel(c);
  if (c.gone) {
    if (here) {
      resetList();
      showHead();
      showRefusal({ message: `You are no longer a member of #${c.name}.` });
    } else systemLine(`You are no longer a member of #${c.name}.`);
    return;
  }
  if (c.restricted && c.you && (!known || !known.you)) {
    systemLine(`You were invited to #${c.name} (members only).`);
  }
  if (here) showHead();
}

/** A zone operator banned ``author``: its messages leave the list (not one's own). */
function onBanned(author) {
  if (author === S.me.key) return; // its author still sees them, marked, after a reload
  for (const id of [...S.shown]) {
    const m = S.cache.get(id);
    if (m && m.author === author) removeRow(id);
  }
}

/** The node cannot replay from our cursor (those records were pruned): reload it all. */
async function refreshAll() {
  try {
    const channels = await api.get("channels", { zone: S.zone });
    S.sidebar.setChannels(channels.channels, channels.default);
  } catch (err) {
    return;
  }
  route();
}

function onMessage(m, cursor) {
  const known = S.cache.has(m.id);
  S.cache.put(m);
  arrivedLive(m);
  if (known) return onUpdate(m); // already loaded over HTTP, or a repeat
  const mine = m.callsign === S.me.callsign && m.verified !== "conflict"; // an impostor is not me
  const visible = inView(m) && S.atLive && !document.hidden && $("status-page").hidden;
  if (inView(m) && S.atLive) addRows([m], false);
  else if (inView(m)) $("to-latest").hidden = false;
  S.sidebar.countMessage(m, visible, mine, cursor);
  if (m.reply_to) refreshThread();
  if (m.reply_to) refreshRow(m.reply_to); // its "Thread (n)" count
  const forMe = !mine && (m.to === S.me.callsign || (m.mentions || []).includes(S.me.callsign));
  if (forMe && !visible) alertUser(m);
  clearTyping(m.callsign, m.channel);
  updateTitle();
}

function onUpdate(m) {
  S.cache.put(m);
  refreshRow(m.id);
  refreshThread();
  refreshReplies(m.id); // they quote it
}

function alertUser(m) {
  if (S.prefs.sound) notify.chirp();
  // An impostor's mention says so: the sender may not be who the callsign claims.
  const who = m.verified === "conflict" ? `${m.callsign} (⚠ unverified)` : m.callsign;
  const title = m.to ? `Direct message from ${who}` : `${who} mentioned you`;
  notify.desktop(title, m.text, () => {
    location.hash = m.to ? dmHash(m.callsign) : channelHash(m.channel);
  });
}
