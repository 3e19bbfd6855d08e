// The main composer's wiring: what text typed in the current view is posted as (to its
// channel or conversation, as a reply, with a location), and the one Composer of the page.
// Posting itself is the outbox's: pending rows, order, retries (outbox.js).

import { Composer } from "./compose.js";
import { enqueue } from "./outbox.js";
import { loadLatest } from "./paging.js";
import { sendTyping } from "./presence.js";
import { S } from "./state.js";

/** The place of the main list a message typed now belongs to (outbox.js). */
export function mainPlace() {
  const v = S.view;
  const shown = v.kind === "all" || v.kind === "channel" || v.kind === "dm";
  return shown ? `${S.zone}\n${v.kind}\n${v.name}` : null;
}

function send(text, replyTo, geo) {
  const v = S.view;
  const body = { zone: S.zone, channel: v.kind === "channel" ? v.name : "", text };
  if (v.kind === "dm") body.to = v.name;
  if (replyTo) {
    body.reply_to = replyTo.id;
    if (v.kind === "all") body.channel = replyTo.channel; // answer where the question was
  }
  if (geo) body.geo = geo;
  if (!S.atLive) loadLatest(); // the message will show at the live end: go there
  enqueue(body, mainPlace());
}

/** Point the composer at ``zone``; the first call builds it (it wires its form once). */
export function useComposer(zone) {
  S.composer = S.composer || new Composer({ zone, send, typing: sendTyping });
  S.composer.zone = zone;
}
