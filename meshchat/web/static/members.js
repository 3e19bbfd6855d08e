// A channel's members panel: who is in it and with which role; its owner and operators
// invite a callsign (the owner as operator too), change a role and remove members here.
// Each change is a new signed channel record, shown to the members by the live socket.

import { NOT_SECRET } from "./access.js";
import * as api from "./api.js";
import { $, clear, el, normalizeCallsign, CALLSIGN_RULE } from "./dom.js";
import { S } from "./state.js";

const ORDER = { owner: 0, operator: 1, member: 2 };

function current() {
  return S.view.kind === "channel" && S.sidebar ? S.sidebar.channel(S.view.name) : null;
}

function path(name, callsign) {
  const base = `channels/${encodeURIComponent(name)}/members`;
  return callsign ? `${base}/${encodeURIComponent(callsign)}?zone=${encodeURIComponent(S.zone)}` : base;
}

async function change(fn, done) {
  const error = $("members-error");
  error.textContent = "";
  try {
    await fn();
    if (done) error.textContent = done;
  } catch (err) {
    error.textContent = err.message;
  }
}

function memberRow(ch, call, role) {
  const mine = ch.you;
  const canManage = mine === "owner" || mine === "operator";
  const row = el("li", { class: "member", "data-callsign": call },
    el("span", { class: "who" }, call + (call === S.me.callsign ? " (you)" : "")),
    el("span", { class: `role role-${role}` }, role));
  if (mine === "owner" && role !== "owner") {
    const other = role === "operator" ? "member" : "operator";
    row.append(el("button", { type: "button", class: "link-btn",
      onclick: () => change(() => api.post(path(ch.name), { zone: S.zone, callsign: call, role: other })) },
    role === "operator" ? "Make member" : "Make operator"));
  }
  const removable = role === "member" || (role === "operator" && mine === "owner");
  if (canManage && removable && call !== S.me.callsign) {
    row.append(el("button", { type: "button", class: "link-btn danger", "aria-label": `Remove ${call}`,
      onclick: () => change(() => api.del(path(ch.name, call)), `${call} removed.`) }, "Remove"));
  }
  return row;
}

/** Draw the panel for the channel on view (hidden for views without members). */
export function showMembers() {
  const ch = current();
  const roles = (ch && ch.roles) || {};
  const has = Object.keys(roles).length > 0;
  $("open-members").hidden = !has;
  const panel = $("members-panel");
  if (!has) panel.hidden = true;
  $("open-members").setAttribute("aria-expanded", String(!panel.hidden));
  if (panel.hidden) return;
  const list = $("members-list");
  clear(list);
  const calls = Object.keys(roles).sort((a, b) => ORDER[roles[a]] - ORDER[roles[b]] || a.localeCompare(b));
  for (const call of calls) list.append(memberRow(ch, call, roles[call]));
  const manage = ch.you === "owner" || ch.you === "operator";
  $("invite-form").hidden = !manage;
  $("invite-role").hidden = ch.you !== "owner";
  $("members-note").textContent = ch.restricted
    ? `Only these members see #${ch.name}. ${NOT_SECRET}`
    : `#${ch.name} is open to everyone; its operators set the topic.`;
}

export function wireMembers() {
  $("open-members").addEventListener("click", () => {
    $("members-panel").hidden = !$("members-panel").hidden;
    showMembers();
    if (!$("members-panel").hidden && !$("invite-form").hidden) $("invite-callsign").focus();
  });
  $("invite-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const ch = current();
    const call = normalizeCallsign($("invite-callsign").value);
    if (!ch) return;
    if (!call) {
      $("members-error").textContent = CALLSIGN_RULE;
      return;
    }
    const role = $("invite-role").hidden ? "member" : $("invite-role").value;
    change(async () => {
      await api.post(path(ch.name), { zone: S.zone, callsign: call, role });
      $("invite-callsign").value = "";
    }, `${call} invited.`);
  });
}
