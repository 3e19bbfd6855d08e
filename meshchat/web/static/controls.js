// The page's own controls, wired once at boot: the phone menu, settings, my status,
// search (and, on a phone, the button that shows it), the history jumps, scrolling and
// clicks in the list, the channel topic, the thread panel, and the hash that picks the view.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { nearBottom, systemLine } from "./list.js";
import * as notify from "./notify.js";
import { jump, loadLatest, loadNewer, loadOlder } from "./paging.js";
import { wireSettings } from "./prefs.js";
import { openInContext, route } from "./router.js";
import { scopedQuery } from "./search.js";
import { S } from "./state.js";
import { wireThread } from "./threads.js";
import { updateTitle } from "./view.js";

export function closeMenu() {
  document.body.classList.remove("menu-open");
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

export function wireControls() {
  $("menu-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("menu-open");
    $("menu-toggle").setAttribute("aria-expanded", String(open));
  });
  $("search-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("tools-open");
    $("search-toggle").setAttribute("aria-expanded", String(open));
    if (open) $("search-input").focus();
  });
  // Times shown by the status page are redrawn by showing it again.
  wireSettings(() => {
    if (!$("status-page").hidden) route();
  });
  $("my-status").addEventListener("change", async (ev) => {
    try {
      await api.post("presence", { status: ev.target.value });
    } catch (err) {
      systemLine("Status not changed: " + err.message);
    }
  });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = $("search-input").value.trim();
    if (!q) return;
    const hash = "#/search/" + encodeURIComponent(scopedQuery(q));
    if (location.hash === hash) route(); // the same search again: fresh results
    else location.hash = hash;
  });
  for (const button of document.querySelectorAll(".jumps button")) {
    button.addEventListener("click", () => jump(button.dataset.since));
  }
  $("to-latest").addEventListener("click", () => loadLatest());
  wireList();
  wireTopic();
  wireThread();
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && S.sidebar && S.atLive) {
      S.sidebar.markSeen(S.view);
      updateTitle();
    }
  });
  document.addEventListener("pointerdown", notify.unlockAudio, { once: true });
  document.addEventListener("keydown", notify.unlockAudio, { once: true });
  window.addEventListener("hashchange", route);
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || !document.body.classList.contains("menu-open")) return;
    closeMenu();
    $("menu-toggle").focus();
  });
  $("main").addEventListener("pointerdown", () => closeMenu());
}

function wireList() {
  const list = $("messages");
  list.addEventListener("scroll", () => {
    // Only a scroll by the user toward the top loads older pages; a list that was just
    // replaced (a jump, a search hit) starts at the top without fetching what lies before.
    const up = list.scrollTop < S.lastScrollTop;
    S.lastScrollTop = list.scrollTop;
    if (up && list.scrollTop < 150) loadOlder();
    if (!up && nearBottom(list)) loadNewer();
  });
  list.addEventListener("wheel", (ev) => {
    if (ev.deltaY < 0 && list.scrollTop === 0) loadOlder();
  }, { passive: true });
  // In a search, a hit (clicked, or Enter on the focused row) opens in its context.
  list.addEventListener("click", (ev) => {
    const row = ev.target.closest(".msg");
    if (row && S.view.kind === "search" && !ev.target.closest("button, a")) {
      const m = S.cache.get(row.dataset.id);
      if (m) openInContext(m);
    }
  });
  list.addEventListener("keydown", (ev) => {
    const row = ev.target.closest && ev.target.closest(".msg");
    if (ev.key === "Enter" && row && ev.target === row && S.view.kind === "search") {
      const m = S.cache.get(row.dataset.id);
      if (m) openInContext(m);
    }
  });
}

function wireTopic() {
  $("edit-topic").addEventListener("click", () => {
    const ch = S.sidebar.channel(S.view.name);
    $("topic-input").value = ch ? ch.topic : "";
    $("topic-form").hidden = false;
    $("topic-input").focus();
  });
  $("topic-cancel").addEventListener("click", () => {
    $("topic-form").hidden = true;
  });
  $("topic-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api.post("channels", { zone: S.zone, name: S.view.name, topic: $("topic-input").value });
      $("topic-form").hidden = true;
    } catch (err) {
      $("view-topic").textContent = "Topic not saved: " + err.message;
    }
  });
}
