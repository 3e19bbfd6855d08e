// What one user keeps in this browser, per zone and callsign (preferences, what they have
// seen, their direct conversations), and the settings panel that edits the preferences.

import { $ } from "./dom.js";
import * as notify from "./notify.js";
import { S } from "./state.js";

function storeKey(name) {
  return `meshchat:${S.zone}:${S.me.callsign}:${name}`;
}

export function load(name, fallback) {
  try {
    const raw = localStorage.getItem(storeKey(name));
    return raw === null ? fallback : JSON.parse(raw);
  } catch (err) {
    return fallback;
  }
}

export function save(name, value) {
  try {
    localStorage.setItem(storeKey(name), JSON.stringify(value));
  } catch (err) {
    // Storage full or disabled: preferences last for this tab only.
  }
}

/** Read the logged-in user's preferences into S.prefs and the settings panel. */
export function loadPrefs() {
  S.prefs = { joins: true, sound: true, ...load("prefs", {}) };
}

export function showPrefs() {
  $("opt-joins").checked = S.prefs.joins;
  $("opt-sound").checked = S.prefs.sound;
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

export function wireSettings() {
  $("settings-toggle").addEventListener("click", () => {
    const box = $("settings");
    box.hidden = !box.hidden;
    $("settings-toggle").setAttribute("aria-expanded", String(!box.hidden));
  });
  $("opt-joins").addEventListener("change", (ev) => {
    S.prefs.joins = ev.target.checked;
    save("prefs", S.prefs);
  });
  $("opt-sound").addEventListener("change", (ev) => {
    S.prefs.sound = ev.target.checked;
    save("prefs", S.prefs);
    if (S.prefs.sound) notify.unlockAudio();
  });
  $("opt-notify").addEventListener("click", async () => {
    await notify.askPermission();
    showNotifyState();
  });
}
