// What one user keeps in this browser: preferences (per callsign: the clock, joins,
// sound), and per zone what they have read and their direct conversations; and the
// settings panel that edits the preferences.

import { $ } from "./dom.js";
import * as notify from "./notify.js";
import { S } from "./state.js";
import { localeUses24h, redrawTimes } from "./time.js";

function storeKey(name, zone) {
  return `meshchat:${zone}:${S.me.callsign}:${name}`;
}

function read(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch (err) {
    return fallback;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (err) {
    // Storage full or disabled: it lasts for this tab only.
  }
}

/** A value kept for the logged-in user in the current zone. */
export function load(name, fallback) {
  return read(storeKey(name, S.zone), fallback);
}

/** A value kept for the logged-in user in another ``zone``. */
export function loadIn(zone, name, fallback) {
  return read(storeKey(name, zone), fallback);
}

export function save(name, value) {
  write(storeKey(name, S.zone), value);
}

const prefsKey = () => `meshchat:${S.me.callsign}:prefs`;

/** Read the logged-in user's preferences into S.prefs (the same in every zone). */
export function loadPrefs() {
  const older = load("prefs", {}); // before they were kept per callsign
  S.prefs = { joins: true, sound: true, clock24: localeUses24h(), utc: false, ...older, ...read(prefsKey(), {}) };
}

function savePrefs() {
  write(prefsKey(), S.prefs);
}

export function showPrefs() {
  $("opt-joins").checked = S.prefs.joins;
  $("opt-sound").checked = S.prefs.sound;
  $("opt-clock24").checked = S.prefs.clock24;
  $("opt-utc").checked = S.prefs.utc;
  showNotifyState();
}

function showNotifyState() {
  const state = notify.notificationState();
  $("opt-notify").hidden = state !== "default";
  $("notify-state").textContent =
    state === "granted" ? "Desktop notifications are on." :
    state === "denied" ? "Desktop notifications are blocked in this browser." :
    state === "unsupported" ? "This browser has no desktop notifications." : "";
}

export function closeSettings() {
  $("settings").hidden = true;
  $("settings-toggle").setAttribute("aria-expanded", "false");
}

/** ``clockChanged()`` redraws what shows times in ways a walk of data-ts cannot. */
export function wireSettings(clockChanged) {
  $("settings-toggle").addEventListener("click", () => {
    const box = $("settings");
    box.hidden = !box.hidden;
    $("settings-toggle").setAttribute("aria-expanded", String(!box.hidden));
  });
  for (const [id, name] of [["opt-joins", "joins"], ["opt-sound", "sound"], ["opt-clock24", "clock24"], ["opt-utc", "utc"]]) {
    $(id).addEventListener("change", (ev) => {
      S.prefs[name] = ev.target.checked;
      savePrefs();
      if (name === "sound" && S.prefs.sound) notify.unlockAudio();
      if (name === "clock24" || name === "utc") {
        redrawTimes(document);
        clockChanged();
      }
    });
  }
  $("opt-notify").addEventListener("click", async () => {
    await notify.askPermission();
    showNotifyState();
  });
}
