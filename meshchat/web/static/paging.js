// History paging of the main list: the latest page of a view, older pages on scroll-back,
// newer ones on the way down again, the 1d/1w/1m/3m jumps, and a message among its
// neighbours. Only the newest request counts: the answer for a view left meanwhile, or
// one overtaken by a later jump, is dropped.

import { showRefusal } from "./access.js";
import * as api from "./api.js";
import { $, el } from "./dom.js";
import { addRows, placeOlderButton, resetList, systemLine } from "./list.js";
import { loadSearch } from "./search.js";
import { noteYours, S } from "./state.js";
import { updateTitle, viewParams } from "./view.js";

const PAGE = 50;
const CONTEXT = 25; // messages either side of one shown in context

let loading = false;
let loadToken = 0;

async function fetchPage(extra) {
  const reply = await api.get("messages", { ...viewParams(), limit: PAGE, ...extra });
  noteYours(reply);
  for (const m of reply.messages) S.cache.put(m);
  return reply.messages;
}

/** Run ``fn(current)``; ``current()`` turns false once a newer load has started. */
async function withLoading(fn) {
  const token = ++loadToken;
  loading = true;
  try {
    await fn(() => token === loadToken);
  } catch (err) {
    if (token === loadToken && err.status === 403) showRefusal(err);
    else if (token === loadToken) systemLine("Could not load messages: " + err.message);
  } finally {
    if (token === loadToken) loading = false;
  }
}

/** Show the newest page of the view (the first new message since the last visit in sight). */
export function loadLatest() {
  return withLoading(async (current) => {
    if (S.view.kind === "search") {
      await loadSearch(current);
      if (current()) updateTitle();
      return;
    }
    const msgs = await fetchPage({});
    if (!current()) return;
    resetList();
    S.hasOlder = msgs.length === PAGE;
    S.atLive = true;
    addRows(msgs, true);
    const list = $("messages");
    const firstNew = list.querySelector(".msg.unseen");
    if (firstNew) firstNew.scrollIntoView({ block: "center" });
    else list.scrollTop = list.scrollHeight;
    S.sidebar.markSeen(S.view);
    updateTitle();
  });
}

/** Show the view from ``since`` ("1d", "1w", "1m", "3m") on. */
export function jump(since) {
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

/** Add the page before the first shown message, keeping what is on screen in place. */
export function loadOlder() {
  if (loading || !S.hasOlder || !S.shown.length) return;
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

/** Add the page after the last shown message, until the list reaches the live end. */
export function loadNewer() {
  if (loading || S.atLive || !S.shown.length) return;
  return withLoading(async (current) => {
    const msgs = await fetchPage({ after: S.shown[S.shown.length - 1] });
    if (!current()) return;
    S.atLive = msgs.length < PAGE;
    $("to-latest").hidden = S.atLive;
    addRows(msgs, true);
  });
}

/** Show ``m`` among its neighbours in the current view, highlighted and focused. */
export function loadAround(m) {
  return withLoading(async (current) => {
    const [before, after] = await Promise.all([
      api.get("messages", { ...viewParams(), limit: CONTEXT, before: m.id }),
      api.get("messages", { ...viewParams(), limit: CONTEXT, after: m.id }),
    ]);
    if (!current()) return;
    noteYours(before);
    noteYours(after);
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
