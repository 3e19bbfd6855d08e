// Access control in the page (DESIGN §10): what this user may moderate, hiding a message
// zone-wide or on this node, what a hidden message of one's own says, and why a view is
// refused. These are rules every honest node keeps when it reads the log; nothing is
// secret or encrypted (amateur radio forbids it), and the page says so where it matters.

import * as api from "./api.js";
import { $, el } from "./dom.js";
import { S } from "./state.js";

export const NOT_SECRET =
  "Members only is a rule every node keeps, not a secret: the log is signed, not encrypted.";

/** Ask the node what this user may moderate here (quietly: older nodes have no answer). */
export async function loadModeration() {
  S.moderation = { zone_operator: false, node_operator: false };
  try {
    const reply = await api.get("moderation", { zone: S.zone });
    S.moderation = { zone_operator: !!reply.zone_operator, node_operator: !!reply.node_operator };
  } catch (err) {
    // Nothing to moderate with.
  }
}

/** The hide actions this user has on ``m``: [] for a plain user or one's own message. */
export function hideActions(m) {
  const mod = S.moderation || {};
  if (m.author === S.me.key || m.hidden) return [];
  const out = [];
  if (mod.zone_operator) out.push({ scope: "zone", label: "Hide", title: "Hide it zone-wide (a signed record)" });
  if (mod.node_operator) out.push({ scope: "node", label: "Hide here", title: "Hide it on this node only" });
  return out;
}

/** Hide ``m`` (``scope`` zone | node); the live socket then takes the row away. */
export function hideMessage(m, scope) {
  return api.post("moderation", { zone: S.zone, target: m.id, action: "hide", scope });
}

/** The line under one's own hidden message: others do not see it. */
export function hiddenNote(m) {
  if (!m.hidden) return null;
  const who = m.hidden === "node" ? "on this node by its operator" : "by a zone operator";
  return el("p", { class: "hidden-note", role: "note" }, `Hidden ${who}: only you see this message.`);
}

/** Say in the view's head why the node refused it (a 403), and offer no composer. */
export function showRefusal(err) {
  $("view-topic").textContent = err.message;
  $("composer").hidden = true;
}
