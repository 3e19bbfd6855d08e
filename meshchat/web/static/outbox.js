// Messages on their way to the node (issue 10, "the composer survives a slow link").
// Enter takes the text at once into its own pending row ("sending…") and clears the
// composer; sends go out one at a time, in the order they were made; a failed one stays
// with its text and "Retry". Each message has its own Idempotency-Key, kept across
// retries, so a retry of a post whose answer was lost gets the first record back from
// the node instead of making a second one (README "JSON API").

import * as api from "./api.js";
import { clear, el, formatText } from "./dom.js";
import { icon } from "./icons.js";
import { S } from "./state.js";

const entries = []; // {key, body, place, state: queued|sending|sent|failed, error, id}
let running = false;
let places = { main: () => null, thread: () => null };
let restore = () => {};

/** The box at the end of the main list, and the one at the end of the thread panel. */
export const mainBox = el("div", { class: "pending-box", "aria-live": "polite" });
export const threadBox = el("div", { class: "pending-box", "aria-live": "polite" });

/**
 * ``main()`` and ``thread()`` name the places shown now (a view, an open thread);
 * ``edit(place, text)`` puts a failed message back into the composer of its place.
 */
export function configureOutbox({ main, thread, edit }) {
  places = { main, thread };
  restore = edit;
}

/** A key no other message of this browser has: 128 random bits (works without https). */
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "m-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Take a message to send: it shows at once as pending in ``place``, then goes out in turn. */
export function enqueue(body, place) {
  entries.push({ key: newKey(), body, place, state: "queued", error: "", id: null });
  draw();
  const list = mainBox.parentNode;
  if (list && place === places.main()) list.scrollTop = list.scrollHeight;
  pump();
}

let onYours = () => {};
/** ``fn(id)`` is told of each message this browser posted (its row may need its actions). */
export function setYoursHandler(fn) {
  onYours = fn;
}

function describe(err) {
  if (err.status === 413) return "too long for the mesh (about 30 KB at most)";
  if (err.status === 0) return "the node did not answer";
  return err.message;
}

async function pump() {
  if (running) return;
  running = true;
  try {
    for (let e = entries.find((x) => x.state === "queued"); e; e = entries.find((x) => x.state === "queued")) {
      e.state = "sending";
      draw();
      try {
        const reply = await api.post("messages", e.body, { "Idempotency-Key": e.key });
        e.id = reply.id;
        e.state = "sent"; // shown as sent until its record arrives (live or paged)
        S.yours.add(reply.id);
        onYours(reply.id);
      } catch (err) {
        e.state = "failed";
        e.error = describe(err);
        if (err.status === 401) break; // logged out: the login form takes over
      }
      draw();
    }
  } finally {
    running = false;
  }
}

function remove(e) {
  const i = entries.indexOf(e);
  if (i >= 0) entries.splice(i, 1);
}

/** The record ``id`` is shown now: its pending row goes. */
export function arrived(id) {
  const e = entries.find((x) => x.id === id);
  if (e) {
    remove(e);
    draw();
  }
}

/**
 * A live message of ours came before the answer to its post: it is the one being sent
 * (sends go one at a time), so its pending row goes now rather than showing it twice.
 */
export function arrivedLive(m) {
  const e = entries.find((x) => x.id === m.id) ||
    entries.find((x) => x.state === "sending" && S.me && m.callsign === S.me.callsign && x.body.text === m.text);
  if (e) {
    remove(e);
    draw();
  }
}

function retry(e) {
  remove(e);
  entries.push({ ...e, state: "queued", error: "" }); // same key: never a duplicate
  draw();
  pump();
}

function pendingRow(e) {
  const status = {
    queued: "waiting to send…",
    sending: "sending…",
    sent: "sent",
    failed: "Not sent: " + e.error,
  }[e.state];
  const row = el(
    "article",
    { class: `msg mine pending ${e.state}`, "data-key": e.key, "aria-label": `Your message, ${status}` },
    el(
      "div",
      { class: "msg-head" },
      el("span", { class: "who" }, S.me ? S.me.callsign : ""),
      el("span", { class: "send-state" }, e.state === "failed" ? icon("alert") : e.state === "sent" ? icon("check") : null, status),
    ),
    el("div", { class: "text", dir: "auto" }, ...formatText(e.body.text, S.me ? S.me.callsign : "")),
  );
  if (e.state === "failed") {
    row.append(
      el(
        "div",
        { class: "pending-actions" },
        el("button", { type: "button", onclick: () => retry(e) }, icon("refresh"), " Retry"),
        el("button", {
          type: "button",
          onclick: () => {
            remove(e);
            draw();
            restore(e.place, e.body.text);
          },
        }, "Edit"),
        el("button", {
          type: "button",
          class: "danger",
          onclick: () => {
            remove(e);
            draw();
          },
        }, "Discard"),
      ),
    );
  }
  return row;
}

function fill(box, place) {
  clear(box);
  for (const e of entries) if (place !== null && e.place === place) box.append(pendingRow(e));
}

/** Redraw the pending rows of the places shown now (a view or a thread changed). */
export function draw() {
  for (const e of [...entries]) if (e.state === "sent" && S.cache.has(e.id)) remove(e);
  fill(mainBox, places.main());
  fill(threadBox, places.thread());
}

/** Forget every pending message (logout). */
export function resetOutbox() {
  entries.length = 0;
  draw();
}
