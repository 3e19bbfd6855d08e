// The thread panel: a message, everything that answers it (directly or not) in time
// order, and a composer that replies to its first message. Replies not loaded yet, older
// or in other channels, come from the node when the panel opens.

import * as api from "./api.js";
import { $, clear, el } from "./dom.js";
import { order, rowContext, systemLine } from "./list.js";
import { messageRow } from "./messages.js";
import { S } from "./state.js";

let threadRoot = null; // id of the first message of the open thread, null when closed

/** Open the thread ``id`` belongs to, from its earliest loaded message on. */
export function openThread(id) {
  threadRoot = S.cache.rootOf(id);
  $("thread").hidden = false;
  document.body.classList.add("thread-open");
  renderThread();
  $("thread-input").focus();
  const root = threadRoot;
  api
    .get("messages", { zone: S.zone, thread: root })
    .then((reply) => {
      for (const m of reply.messages) if (!S.cache.has(m.id)) S.cache.put(m);
      if (threadRoot === root) renderThread();
    })
    .catch(() => {}); // the thread shows what is loaded
}

function closeThread() {
  threadRoot = null;
  $("thread").hidden = true;
  document.body.classList.remove("thread-open");
}

/** Redraw the open thread, if any (a message in the cache arrived or changed). */
export function refreshThread() {
  if (threadRoot) renderThread();
}

function renderThread() {
  const box = $("thread-messages");
  clear(box);
  const root = S.cache.get(threadRoot);
  const members = S.cache.thread(threadRoot).sort(order);
  const ctx = { ...rowContext(), showChannel: true, reply: () => $("thread-input").focus() };
  if (!root) box.append(el("p", { class: "sys" }, "The first message of this thread is not loaded; scroll back to find it."));
  for (const m of members) box.append(messageRow(m, ctx));
}

async function sendThreadReply(ev) {
  ev.preventDefault();
  const input = $("thread-input");
  const root = S.cache.get(threadRoot);
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

export function wireThread() {
  $("thread-close").addEventListener("click", closeThread);
  $("thread-composer").addEventListener("submit", sendThreadReply);
  $("thread-input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("thread-composer").requestSubmit();
    }
    if (ev.key === "Escape") closeThread();
  });
}
