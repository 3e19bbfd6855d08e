// The main message list: rows in (ts, id) order with a separator for each day, the "new
// since your last visit" mark and divider, the "Load earlier messages" button, redrawing
// a row when its message changes, the actions a row offers, one-line notices from the
// UI itself, and at its end the box of messages still being sent (outbox.js).
//
// Opening a thread and paging back are other modules' work, and both of those draw rows
// with this one: app.js hands the two in through configureList, so no import cycle forms.

import { hideMessage } from "./access.js";
import { startEdit } from "./actions.js";
import * as api from "./api.js";
import { $, clear, el } from "./dom.js";
import { settleFolds } from "./fold.js";
import { messageRow } from "./messages.js";
import { S } from "./state.js";
import { placeDays, timeText } from "./time.js";

const fromHistory = new Set(); // ids loaded over HTTP (may be marked "new since last visit")

let hooks = { openThread: () => {}, threadChanged: () => {}, loadOlder: () => {}, arrived: () => {}, pending: null };

/**
 * ``openThread(id)``, ``threadChanged()`` and ``loadOlder()``, from threads.js and
 * paging.js; ``arrived(id)`` and ``pending`` (the box of unsent messages), from outbox.js.
 */
export function configureList(given) {
  hooks = given;
}

export function order(a, b) {
  return a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** What messageRow needs to draw a row of the current view and act on it. */
export function rowContext() {
  return {
    me: S.me.callsign,
    myKey: S.me.key,
    viaNode: S.me.via_node,
    yours: S.yours,
    showChannel: S.view.kind === "all" || S.view.kind === "search",
    lookup: (id) => S.cache.get(id),
    replies: (id) => S.cache.replyCount(id),
    reply: (m) => S.composer.setReply(m),
    thread: (id) => hooks.openThread(id),
    react: (m, emoji) => act(() => api.post(`messages/${m.id}/reactions`, { emoji })),
    unreact: (m, r, index) => unreact(m, r, index),
    edit: (m) => {
      const row = S.rows.get(m.id) || document.querySelector(`#thread-messages [data-id="${m.id}"]`);
      if (row) {
        startEdit(row, m, (text) => api.patch(`messages/${m.id}`, { text }), () => {
          refreshRow(m.id);
          hooks.threadChanged();
        });
      }
    },
    remove: (m) => act(() => api.del(`messages/${m.id}`)),
    hide: (m, scope) => act(() => hideMessage(m, scope)),
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
  if ((history || fromHistory.has(m.id)) && lastVisit && m.ts > lastVisit && m.callsign !== S.me.callsign) {
    row.classList.add("unseen");
    row.append(el("span", { class: "visually-hidden" }, " (new since your last visit)"));
    fromHistory.add(m.id);
  }
  return row;
}

/** The end of the main list: live rows and notices go before the unsent messages. */
function listEnd(list) {
  const box = hooks.pending;
  if (!box) return null;
  if (box.parentNode !== list) list.append(box);
  return box;
}

/** Insert messages into the main list in (ts, id) order, skipping those already shown. */
export function addRows(msgs, history) {
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
    const next = i < S.shown.length ? S.rows.get(S.shown[i]) : listEnd(list);
    if (next) list.insertBefore(row, next);
    else list.append(row);
    S.shown.splice(i, 0, m.id);
    S.rows.set(m.id, row);
    hooks.arrived(m.id);
  }
  placeDivider();
  placeOlderButton();
  placeDays(list);
  settleFolds(list);
  if (!history && stick) list.scrollTop = list.scrollHeight;
  S.lastScrollTop = list.scrollTop;
}

/** Empty the main list, for a view or a stretch of history that replaces it. */
export function resetList() {
  const list = $("messages");
  clear(list);
  S.rows.clear();
  S.shown = [];
  fromHistory.clear();
  $("to-latest").hidden = true;
  listEnd(list);
}

/** A "Load earlier messages" button at the top while there is more (keyboard and touch). */
export function placeOlderButton() {
  const list = $("messages");
  const old = list.querySelector(".load-older");
  if (old) old.remove();
  if (S.hasOlder && S.shown.length) {
    list.prepend(el("button", { type: "button", class: "load-older link-btn", onclick: () => hooks.loadOlder() },
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

/** Redraw the shown row of message ``id`` from the cache (not while it is being edited). */
export function refreshRow(id) {
  const m = S.cache.get(id);
  const old = S.rows.get(id);
  if (!m || !old) return;
  if (old.querySelector(".edit-form")) return; // do not throw away an edit in progress
  const row = buildRow(m, false);
  if (old.classList.contains("hit")) row.classList.add("hit");
  old.replaceWith(row);
  S.rows.set(id, row);
  settleFolds(row.parentNode || row);
}

/** Take message ``id`` out of the main list (hidden by an operator, its author banned). */
export function removeRow(id) {
  const row = S.rows.get(id);
  if (!row) return;
  row.remove();
  S.rows.delete(id);
  S.shown = S.shown.filter((x) => x !== id);
  placeDays($("messages"));
}

/** Redraw the shown replies to ``id``: they quote it. */
export function refreshReplies(id) {
  for (const reply of S.cache.replies(id)) refreshRow(reply);
}

export function nearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

/** A line from the UI itself (a join, an error) at the live end of the list. */
export function systemLine(text) {
  if (!S.atLive || S.view.kind === "search") return;
  const list = $("messages");
  const stick = nearBottom(list);
  const line = el("p", { class: "sys" }, text, " · ", timeText(Date.now()));
  const end = listEnd(list);
  if (end) list.insertBefore(line, end);
  else list.append(line);
  if (stick) list.scrollTop = list.scrollHeight;
}
