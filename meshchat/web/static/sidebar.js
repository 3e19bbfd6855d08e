// The side panel: channels with unread counts and mention badges, direct conversations,
// and who is online zone-wide (node, since when, status).
//
// Unread is counted by message time: each channel and conversation remembers when it was
// last read (``read``, kept in this browser), and what others wrote after that is unread.
// History that arrives late from before then (an import, a new node's bootstrap) is not.

import { $, clear, el, normalizeCallsign, CALLSIGN_RULE } from "./dom.js";
import * as api from "./api.js";
import { icon } from "./icons.js";
import { fullStamp, timeText } from "./time.js";

const KEY_NEEDED =
  "A members-only channel needs your own key: log in with a passphrase. A login without one is " +
  "signed by this node and holds no rights.";

let active = null; // the sidebar of the current login (the forms are wired once)

/** Read marks ``a`` and ``b`` together, the later of each (another tab may have read on). */
export function mergeRead(a, b) {
  const out = { c: { ...(a && a.c) }, d: { ...(a && a.d) } };
  for (const kind of ["c", "d"]) {
    for (const [name, ms] of Object.entries((b && b[kind]) || {})) out[kind][name] = Math.max(out[kind][name] || 0, ms);
  }
  return out;
}
let wired = false;

export class Sidebar {
  /**
   * ``read``: {c: {channel: ms}, d: {callsign: ms}} as saved; ``floor``: read up to here
   * wherever ``read`` says nothing (the last visit, or now on a first one).
   */
  constructor({ me, zone, read, floor, dms, onSave, onPick, viaNode }) {
    active = this;
    this.me = me;
    this.viaNode = !!viaNode; // a callsign-only login: no rights, no restricted channel
    this.zone = zone;
    this.read = { c: { ...(read && read.c) }, d: { ...(read && read.d) } };
    this.floor = floor;
    this.dms = dms; // callsigns of direct conversations, most recent first
    this.onSave = onSave;
    this.onPick = onPick;
    this.channels = new Map();
    this.unread = new Map(); // "c:NAME" / "d:CALL" -> count
    this.mentions = new Map();
    this.current = null;
    this.defaultChannel = "";
    this.countedTo = 0;
    this.wireForms();
  }

  // -- channels ---------------------------------------------------------------------

  setChannels(list, defaultChannel) {
    this.defaultChannel = defaultChannel || "";
    this.channels = new Map(list.map((c) => [c.name, { ...c }]));
    if (!this.channels.has("")) this.channels.set("", { name: "", topic: "", count: 0 });
    this.render();
  }

  /** What POST /api/v1/unread needs: where each place was read up to. */
  floors() {
    return { zone: this.zone, floor: this.floor, channels: this.read.c, dms: this.read.d };
  }

  /** Take the node's unread counts (``channels``, ``dms``: name -> count, as of ``seq``). */
  setUnread(reply) {
    this.countedTo = reply.seq || 0; // live messages up to this cursor are in these counts
    this.unread.clear();
    for (const [name, n] of Object.entries(reply.channels || {})) this.unread.set("c:" + name, n);
    for (const [call, n] of Object.entries(reply.dms || {})) {
      this.unread.set("d:" + call, n);
      this.addDm(call);
    }
    for (const key of [...this.mentions.keys()]) if (!this.unread.has(key)) this.mentions.delete(key);
    this.render();
  }

  upsertChannel(c) {
    if (c.gone) return this.removeChannel(c.name);
    const old = this.channels.get(c.name);
    this.channels.set(c.name, { ...old, ...c, count: Math.max(c.count || 0, old ? old.count : 0) });
    this.render();
  }

  /** Forget a channel this user may no longer read (removed from its members). */
  removeChannel(name) {
    this.channels.delete(name);
    this.unread.delete("c:" + name);
    this.mentions.delete("c:" + name);
    this.render();
  }

  channel(name) {
    return this.channels.get(name);
  }

  /** Read ``key`` up to ``ms`` (never back). */
  markRead(key, ms) {
    const [kind, name] = [key.slice(0, 1), key.slice(2)];
    const marks = this.read[kind];
    if (!marks || (marks[name] || 0) >= ms) return;
    marks[name] = ms;
    this.onSave("read", this.read);
  }

  /** A live message (at live ``cursor``): count it unread unless seen, mine, old or counted. */
  countMessage(m, visible, mine, cursor) {
    const key = m.to ? "d:" + (m.callsign === this.me ? m.to : m.callsign) : "c:" + m.channel;
    if (m.to) this.addDm(key.slice(2));
    else {
      const c = this.channels.get(m.channel) || { name: m.channel, topic: "", count: 0 };
      c.count += 1;
      c.last_ts = Math.max(c.last_ts || 0, m.ts);
      this.channels.set(c.name, c);
    }
    if (visible || mine) this.markRead(key, m.ts);
    else if (m.ts > this.floor && !(cursor <= this.countedTo)) {
      // Older than the last visit: history arriving late, not news (an import, a bootstrap).
      this.bump(key, !m.to && (m.mentions || []).includes(this.me)); // a DM is always for you
    }
    this.render();
  }

  bump(key, mention) {
    this.unread.set(key, (this.unread.get(key) || 0) + 1);
    if (mention) this.mentions.set(key, (this.mentions.get(key) || 0) + 1);
  }

  markSeen(view) {
    if (!view) return;
    const keys = [];
    if (view.kind === "all") {
      for (const c of this.channels.values()) keys.push("c:" + c.name);
    } else if (view.kind === "channel") keys.push("c:" + view.name);
    else if (view.kind === "dm") keys.push("d:" + view.name);
    const now = Date.now();
    for (const key of keys) {
      this.unread.delete(key);
      this.mentions.delete(key);
      const c = key.startsWith("c:") ? this.channels.get(key.slice(2)) : null;
      this.markRead(key, Math.max(now, (c && c.last_ts) || 0)); // an author's clock may run ahead
    }
    this.render();
  }

  totalUnread() {
    let n = 0;
    for (const v of this.unread.values()) n += v;
    return n;
  }

  setCurrent(view) {
    this.current = view;
    this.render();
  }

  /** Take the node's list of conversations (newest first) as the order to show. */
  setDms(calls) {
    const merged = [...calls, ...this.dms.filter((c) => !calls.includes(c))].slice(0, 30);
    this.dms = merged.filter((c) => c && c !== this.me);
    this.onSave("dms", this.dms);
    this.render();
  }

  addDm(call) {
    if (!call || call === this.me) return;
    if (this.dms[0] === call) return;
    this.dms = [call, ...this.dms.filter((c) => c !== call)].slice(0, 30);
    this.onSave("dms", this.dms);
    this.render();
  }

  // -- drawing ------------------------------------------------------------------------

  item(key, label, hash, selected, title, restricted) {
    const unread = this.unread.get(key) || 0;
    const mentions = this.mentions.get(key) || 0;
    const link = el(
      "a",
      {
        href: hash,
        class: unread ? "nav-item has-unread" : "nav-item",
        "aria-current": selected ? "page" : null,
        title,
        onclick: (ev) => {
          ev.preventDefault();
          this.onPick(hash);
        },
      },
      el("span", { class: "nav-label" }, label),
      restricted ? icon("lock", "lock-icon") : null,
      restricted ? el("span", { class: "visually-hidden" }, " (members only)") : null,
      mentions ? el("span", { class: "badge mention-badge", title: `${mentions} mention${mentions > 1 ? "s" : ""}` },
        "@", el("span", { class: "visually-hidden" }, ` ${mentions} mentions`)) : null,
      unread ? el("span", { class: "badge" }, String(unread), el("span", { class: "visually-hidden" }, " unread")) : null,
    );
    return el("li", null, link);
  }

  render() {
    const cur = this.current;
    const list = $("channel-list");
    clear(list);
    let allUnread = 0;
    let allMentions = 0;
    for (const c of this.channels.values()) {
      allUnread += this.unread.get("c:" + c.name) || 0;
      allMentions += this.mentions.get("c:" + c.name) || 0;
    }
    // "Everything" sums every channel; its own counters are only for the drawing.
    this.unread.set("all", allUnread);
    this.mentions.set("all", allMentions);
    list.append(this.item("all", "Everything", "#/all", cur && cur.kind === "all", "Every channel of the zone"));
    this.unread.delete("all");
    this.mentions.delete("all");
    const names = [...this.channels.keys()].filter((n) => n).sort((a, b) => a.localeCompare(b));
    for (const name of names) {
      const c = this.channels.get(name);
      const title = c.restricted ? `Members only. ${c.topic || ""}`.trim() : c.topic || null;
      list.append(this.item("c:" + name, "# " + name, "#/c/" + encodeURIComponent(name),
        cur && cur.kind === "channel" && cur.name === name, title, c.restricted));
    }
    const dmList = $("dm-list");
    clear(dmList);
    for (const call of this.dms) {
      dmList.append(this.item("d:" + call, call, "#/dm/" + encodeURIComponent(call),
        cur && cur.kind === "dm" && cur.name === call, `Direct messages with ${call}`));
    }
    if (!this.dms.length) dmList.append(el("li", { class: "muted empty" }, "None yet"));
  }

  setPresence(users) {
    const box = $("people");
    clear(box);
    const sorted = [...users].sort((a, b) => a.callsign.localeCompare(b.callsign) || a.node.localeCompare(b.node));
    for (const u of sorted) {
      // A callsign bound to a key, online from a session without it, is not its owner:
      // marked as its messages would be, and never taken for oneself.
      const conflict = u.verified === "conflict";
      const you = u.callsign === this.me && !conflict;
      box.append(
        el(
          "li",
          { class: conflict ? "person conflict" : "person", title: `${u.callsign} on ${u.node}, ${u.status} since ${fullStamp(u.since)}` },
          el("span", { class: `dot ${u.status}`, "aria-hidden": "true" }),
          you
            ? el("span", { class: "who" }, u.callsign + " (you)")
            : el("button", { type: "button", class: "who link-btn", "aria-label": `Message ${u.callsign} directly`,
                onclick: () => this.onPick("#/dm/" + encodeURIComponent(u.callsign)) }, u.callsign),
          conflict
            ? el("span", { class: "trust t-conflict", title: `${u.callsign} signs with a key in this zone, and this session on ${u.node} does not hold it: it may not be ${u.callsign}` }, "⚠ unverified")
            : null,
          el("span", { class: "where" }, `${u.status} · ${u.node} · since `, timeText(u.since)),
        ),
      );
    }
    if (!users.length) box.append(el("li", { class: "muted empty" }, "Nobody"));
    $("people-title").textContent = `Online (${users.length})`;
  }

  // -- forms ------------------------------------------------------------------------------

  wireForms() {
    if (wired) return;
    wired = true;
    const toggle = (form, focus) => {
      form.hidden = !form.hidden;
      if (!form.hidden) focus.focus();
    };
    $("new-channel").onclick = () => toggle($("channel-form"), $("channel-name"));
    $("channel-cancel").onclick = () => {
      $("channel-form").hidden = true;
    };
    $("new-dm").onclick = () => toggle($("dm-form"), $("dm-callsign"));
    $("dm-cancel").onclick = () => {
      $("dm-form").hidden = true;
    };
    $("channel-restricted").onchange = () => {
      $("channel-members-row").hidden = !$("channel-restricted").checked;
      $("channel-error").textContent = $("channel-restricted").checked && active.viaNode ? KEY_NEEDED : "";
    };
    $("channel-form").onsubmit = async (ev) => {
      ev.preventDefault();
      const name = $("channel-name").value.trim();
      const topic = $("channel-topic").value.trim();
      const restricted = $("channel-restricted").checked;
      $("channel-error").textContent = "";
      if (!name) return;
      const raw = restricted ? $("channel-members").value.split(/[\s,;]+/).filter(Boolean) : [];
      const members = raw.map(normalizeCallsign);
      const bad = raw.find((_, i) => !members[i]);
      if (bad) {
        $("channel-error").textContent = `“${bad}” is not a callsign. ${CALLSIGN_RULE}`;
        return;
      }
      const body = { zone: active.zone, name, topic };
      if (restricted) Object.assign(body, { restricted, members });
      try {
        await api.post("channels", body);
        $("channel-form").hidden = true;
        for (const id of ["channel-name", "channel-topic", "channel-members"]) $(id).value = "";
        $("channel-restricted").checked = false;
        $("channel-members-row").hidden = true;
        active.upsertChannel({ name, topic, count: 0, last_ts: null, restricted });
        active.onPick("#/c/" + encodeURIComponent(name));
      } catch (err) {
        $("channel-error").textContent = err.message;
      }
    };
    $("dm-form").onsubmit = (ev) => {
      ev.preventDefault();
      const call = normalizeCallsign($("dm-callsign").value);
      if (!call) {
        $("dm-error").textContent = CALLSIGN_RULE;
        return;
      }
      $("dm-error").textContent = "";
      $("dm-form").hidden = true;
      $("dm-callsign").value = "";
      active.onPick("#/dm/" + encodeURIComponent(call));
    };
  }
}
