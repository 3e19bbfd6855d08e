// The thread panel: a message, everything that answers it (directly or not) in time
// order, and a composer that replies to its first message. Replies not loaded yet, older
// or in other channels, come from the node when the panel opens.

import * as api from "./api.js";
import { $, clear, el } from "./dom.js";
import { settleFolds } from "./fold.js";
import { order, rowContext } from "./list.js";
import { messageRow } from "./messages.js";
import { draw as drawPending, enqueue, threadBox } from "./outbox.js";
import { noteYours, S } from "./state.js";
import { placeDays } from "./time.js";

let threadRoot = null; // id of the first message of the open thread, null when closed

/** The outbox place of the open thread, or null. */
export function threadPlace() {
  return threadRoot ? "thread:" + threadRoot : null;
}

/** Put a failed reply back into the thread's composer. */
export function restoreReply(place, text) {
  if (place !== threadPlace()) return;
  const input = $("thread-input");
  input.value = input.value.trim() ? input.value + "\n" + text : text;
  input.focus();
}

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
      noteYours(reply);
      for (const m of reply.messages) if (!S.cache.has(m.id)) S.cache.put(m);
      if (threadRoot === root) renderThread();
    })
    .catch(() => {}); // the thread shows what is loaded
}

export function closeThread() {
  threadRoot = null;
  $("thread").hidden = true;
  document.body.classList.remove("thread-open");
  drawPending();
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
  box.append(threadBox);
  drawPending();
  placeDays(box);
  settleFolds(box);
}

function sendThreadReply(ev) {
  ev.preventDefault();
  const input = $("thread-input");
  const root = S.cache.get(threadRoot);
  if (!input.value.trim() || !root) return;
  const body = { zone: S.zone, channel: root.channel, text: input.value, reply_to: root.id };
  if (root.to) body.to = root.callsign === S.me.callsign ? root.to : root.callsign;
  input.value = ""; // taken at once: the pending row shows it until the node has it
  enqueue(body, threadPlace());
  const box = $("thread-messages");
  box.scrollTop = box.scrollHeight;
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
