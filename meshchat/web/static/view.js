// The current view (Everything, a channel, a direct conversation or a search): which
// messages belong in it, what it asks the node for, its heading and the tab's title.

import { $ } from "./dom.js";
import { showMembers } from "./members.js";
import { showScope } from "./search.js";
import { S } from "./state.js";

/** Whether live message ``m`` belongs in the current view (a search takes none). */
export function inView(m) {
  const v = S.view;
  if (v.kind === "all") return !m.to;
  if (v.kind === "channel") return !m.to && m.channel === v.name;
  if (v.kind === "dm") {
    return !!m.to && ((m.callsign === S.me.callsign && m.to === v.name) || (m.callsign === v.name && m.to === S.me.callsign));
  }
  return false;
}

/** The query of GET /api/v1/messages that selects the current view. */
export function viewParams() {
  const v = S.view;
  const p = { zone: S.zone };
  if (v.kind === "channel") p.channel = v.name;
  if (v.kind === "dm") p.dm = v.name;
  if (v.kind === "search") p.q = v.q;
  return p;
}

let headFor = null; // the view the head was last drawn for

export function showHead() {
  const v = S.view;
  const title = $("view-title");
  const topic = $("view-topic");
  $("topic-form").hidden = true;
  const ch = v.kind === "channel" ? S.sidebar.channel(v.name) : null;
  // A channel with roles: its owner and operators set the topic; others are not offered it.
  const ruled = ch && Object.keys(ch.roles || {}).length > 0;
  $("edit-topic").hidden = v.kind !== "channel" || (ruled && !["owner", "operator"].includes(ch.you));
  $("composer").hidden = v.kind === "search";
  $("typing").hidden = v.kind === "search";
  document.body.classList.toggle("searching", v.kind === "search");
  showScope(v);
  $("view-lock").hidden = !(ch && ch.restricted);
  const place = `${v.kind}\n${v.name}`;
  if (place !== headFor) $("members-panel").hidden = true; // a new view starts it closed
  headFor = place;
  showMembers();
  if (v.kind === "channel") {
    title.textContent = "#" + v.name;
    topic.textContent = ch && ch.topic ? ch.topic : "No topic yet.";
    if (ch && ch.restricted) topic.textContent = `Members only · ${topic.textContent}`;
    $("message-input").placeholder = `Message #${v.name}`;
  } else if (v.kind === "all") {
    title.textContent = "Everything";
    topic.textContent = "Every channel of the zone. Messages sent here go to the Everything channel.";
    $("message-input").placeholder = "Message Everything";
  } else if (v.kind === "dm") {
    title.textContent = "Direct: " + v.name;
    // The truth (DESIGN §3): amateur radio forbids encryption, so every node stores these.
    topic.textContent = `Not private: shown in this app only to you and ${v.name}, but stored ` +
      "unencrypted on every node of the zone and readable by their operators.";
    $("message-input").placeholder = `Message ${v.name}`;
  } else {
    title.textContent = "Search";
    topic.textContent = "Narrow a search with from:CALL, in:#channel or in:@CALL.";
    $("search-input").value = v.q;
  }
  updateTitle();
}

/** "(3) #ops · MeshChat": the unread count and the view; the status page sets its own. */
export function updateTitle() {
  if (!$("status-page").hidden || !$("files-page").hidden) return;
  const n = S.sidebar ? S.sidebar.totalUnread() : 0;
  const where = $("view-title").textContent;
  document.title = `${n ? `(${n}) ` : ""}${where} · MeshChat`;
}
