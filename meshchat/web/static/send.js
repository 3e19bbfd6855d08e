// The main composer's wiring: what text typed in the current view is posted as (to its
// channel or conversation, as a reply, with a location), and the one Composer of the page.

import * as api from "./api.js";
import { Composer } from "./compose.js";
import { loadLatest } from "./paging.js";
import { sendTyping } from "./presence.js";
import { S } from "./state.js";

async function send(text, replyTo, geo) {
  const v = S.view;
  const body = { zone: S.zone, channel: v.kind === "channel" ? v.name : "", text };
  if (v.kind === "dm") body.to = v.name;
  if (replyTo) {
    body.reply_to = replyTo.id;
    if (v.kind === "all") body.channel = replyTo.channel; // answer where the question was
  }
  if (geo) body.geo = geo;
  if (!S.atLive) loadLatest(); // the message will show at the live end: go there
  await api.post("messages", body);
}

/** Point the composer at ``zone``; the first call builds it (it wires its form once). */
export function useComposer(zone) {
  S.composer = S.composer || new Composer({ zone, send, typing: sendTyping });
  S.composer.zone = zone;
}
