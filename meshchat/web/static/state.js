// The state several UI modules share for one logged-in tab: who is logged in, the view,
// the message cache and the main list. State only one module needs lives in that module
// (typing notices in presence.js, the open thread in threads.js, paging tokens in
// paging.js).

import { MessageCache } from "./cache.js";

export const S = {
  // -- the session (app.js) --
  me: null, // {callsign, key, via_node, status, last_visit}
  zone: null,
  live: null, // the Live socket
  sidebar: null,
  composer: null,
  prefs: {}, // {joins, sound}: prefs.js
  moderation: { zone_operator: false, node_operator: false }, // access.js
  // -- what is shown (router.js) --
  view: { kind: "all", name: "" }, // all | channel | dm | search
  // -- messages --
  cache: new MessageCache(), // every message seen this session, indexed by reply_to
  rows: new Map(), // id -> row element in the main list (list.js)
  shown: [], // ids in the main list, in (ts, id) order (list.js)
  hasOlder: false, // the node has messages before the first shown (paging.js)
  atLive: true, // the list ends at the newest message, so live ones join it (paging.js)
  lastScrollTop: 0, // tells a scroll up from a scroll down (list.js, paging.js, controls.js)
  // Ids of the messages this session may edit and delete: for a callsign-only login, only
  // those its own browser posted (the pages say which in ``yours``; outbox.js adds its own).
  yours: new Set(),
};

/** Take a page's ``yours`` list into ``S.yours``. */
export function noteYours(reply) {
  for (const id of (reply && reply.yours) || []) S.yours.add(id);
}
