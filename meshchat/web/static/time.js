// Time as operators keep it: a 12- or 24-hour clock, local time or UTC (radio logs are
// kept in UTC), day separators in a list, and the full date and time, local and UTC, on
// hover or tap of any timestamp. The choice is a preference (prefs.js: clock24, utc);
// every element that shows a time carries data-ts, so a change redraws them in place.

import { el } from "./dom.js";
import { S } from "./state.js";

const DAY_MS = 86_400_000;
const formats = new Map();

/** Whether this browser's locale writes the time with a 24-hour clock. */
export function localeUses24h() {
  const cycle = new Intl.DateTimeFormat([], { hour: "numeric" }).resolvedOptions().hourCycle;
  return cycle === "h23" || cycle === "h24";
}

function settings() {
  const prefs = S.prefs || {};
  return { h24: prefs.clock24 === undefined ? localeUses24h() : !!prefs.clock24, utc: !!prefs.utc };
}

function format(kind, utc, h24) {
  const key = `${kind}:${utc}:${h24}`;
  let found = formats.get(key);
  if (!found) {
    const zone = utc ? { timeZone: "UTC" } : {};
    const cycle = { hourCycle: h24 ? "h23" : "h12" };
    const options = {
      clock: { hour: "2-digit", minute: "2-digit", ...cycle },
      full: {
        weekday: "short", year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit", ...cycle,
      },
      day: { weekday: "long", day: "numeric", month: "long" },
      dayYear: { weekday: "long", day: "numeric", month: "long", year: "numeric" },
      date: { day: "numeric", month: "short", year: "numeric" },
    }[kind];
    found = new Intl.DateTimeFormat([], { ...options, ...zone });
    formats.set(key, found);
  }
  return found;
}

/** "19:44" or "07:44 PM", with " UTC" when times are shown in UTC. */
export function clockTime(ms) {
  const { h24, utc } = settings();
  return format("clock", utc, h24).format(ms) + (utc ? " UTC" : "");
}

/** "Tue, 4 Mar 2025, 19:44:05 local · 2025-03-05 00:44:05 UTC" (the shown zone first). */
export function fullStamp(ms) {
  const { h24, utc } = settings();
  const iso = new Date(ms).toISOString();
  const inUtc = `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
  const offset = -new Date(ms).getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "−";
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const mins = String(Math.abs(offset) % 60).padStart(2, "0");
  const local = `${format("full", false, h24).format(ms)} local (UTC${sign}${hours}:${mins})`;
  return utc ? `${inUtc} · ${local}` : `${local} · ${inUtc}`;
}

/** A day, as the days are counted in the shown time zone: "2025-03-04". */
export function dayKey(ms) {
  const { utc } = settings();
  const d = new Date(ms);
  if (utc) return d.toISOString().slice(0, 10);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** "Today", "Yesterday", "Monday 3 March" or, another year, "Monday 3 March 2024". */
export function dayLabel(ms) {
  const { h24, utc } = settings();
  const key = dayKey(ms);
  const now = Date.now();
  if (key === dayKey(now)) return "Today";
  if (key === dayKey(now - DAY_MS)) return "Yesterday";
  const sameYear = key.slice(0, 4) === dayKey(now).slice(0, 4);
  return format(sameYear ? "day" : "dayYear", utc, h24).format(ms) + (utc ? " (UTC)" : "");
}

/** "4 Mar 2025": a date in the shown time zone. */
export function shortDate(ms) {
  const { h24, utc } = settings();
  return format("date", utc, h24).format(ms);
}

/**
 * A message's time: its clock time, the full date and time (local and UTC) on hover
 * (title) and, for touch, on a tap, which shows it beside the time.
 */
export function stamp(ms) {
  const button = el(
    "button",
    { type: "button", class: "stamp", "data-ts": ms, "data-fmt": "stamp", "aria-expanded": "false" },
    el("time", { datetime: new Date(ms).toISOString() }, clockTime(ms)),
  );
  drawStamp(button);
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    let full = button.nextElementSibling;
    if (!full || !full.classList.contains("stamp-full")) full = null;
    if (open && !full) button.after(el("span", { class: "stamp-full", "data-ts": ms, "data-fmt": "full" }, fullStamp(ms)));
    if (!open && full) full.remove();
  });
  return button;
}

function drawStamp(node) {
  const ms = Number(node.dataset.ts);
  const kind = node.dataset.fmt;
  if (kind === "stamp") {
    const full = fullStamp(ms);
    node.title = full;
    node.setAttribute("aria-label", full);
    node.querySelector("time").textContent = clockTime(ms);
  } else if (kind === "full") node.textContent = fullStamp(ms);
  else if (kind === "clock") node.textContent = clockTime(ms);
  else if (kind === "title") node.title = fullStamp(ms);
}

/** A clock time as plain text that follows the clock setting (system lines, presence). */
export function timeText(ms) {
  return el("time", { datetime: new Date(ms).toISOString(), "data-ts": ms, "data-fmt": "clock", title: fullStamp(ms) }, clockTime(ms));
}

/** Redraw every time shown in ``root`` and its day separators (the clock setting changed). */
export function redrawTimes(root) {
  for (const node of root.querySelectorAll("[data-ts][data-fmt]")) drawStamp(node);
  for (const list of root.querySelectorAll(".messages")) placeDays(list);
}

/** Put a separator before the first message of each day in ``list`` (any order). */
export function placeDays(list) {
  for (const sep of list.querySelectorAll(":scope > .day-sep")) sep.remove();
  let last = null;
  for (const row of list.querySelectorAll(":scope > article.msg[data-ts]")) {
    const ms = Number(row.dataset.ts);
    const key = dayKey(ms);
    if (key !== last) {
      row.before(el("div", { class: "day-sep", role: "separator", "aria-label": dayLabel(ms) }, el("span", null, dayLabel(ms))));
      last = key;
    }
  }
}

