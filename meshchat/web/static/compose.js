// The composer: Enter sends (the outbox takes the text at once), Shift+Enter adds a line,
// @mention completion from GET /api/v1/callsigns, a reply target and a shared location.

import * as api from "./api.js";
import { $, clear, el, maidenhead } from "./dom.js";
import { snippet } from "./messages.js";

const MENTION_AT_CARET = /(?:^|[^\w@])@([A-Za-z0-9][A-Za-z0-9/-]{0,19})?$/;
const MAX_OPTIONS = 8;
const CACHE_MS = 30000; // new callsigns appear as people post

export class Composer {
  constructor({ zone, send, typing }) {
    this.zone = zone;
    this.sendFn = send;
    this.typingFn = typing;
    this.form = $("composer");
    this.input = $("message-input");
    this.list = $("mention-list");
    this.error = $("compose-error");
    this.replyTo = null;
    this.geo = null;
    this.options = [];
    this.active = -1;
    this.cache = new Map();
    this.lookupTimer = null;

    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (ev) => this.keydown(ev));
    this.input.addEventListener("input", () => {
      this.autosize();
      this.typingFn();
      clearTimeout(this.lookupTimer);
      this.lookupTimer = setTimeout(() => this.complete(), 120);
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.closeList(), 150));
    $("reply-cancel").addEventListener("click", () => this.setReply(null));
    $("geo-cancel").addEventListener("click", () => this.setGeo(null));
    $("share-geo").addEventListener("click", () => this.locate());
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight, 200) + "px";
  }

  keydown(ev) {
    if (!this.list.hidden && this.options.length) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        const step = ev.key === "ArrowDown" ? 1 : -1;
        this.highlight((this.active + step + this.options.length) % this.options.length);
        return;
      }
      if (ev.key === "Enter" || ev.key === "Tab") {
        ev.preventDefault();
        this.choose(this.options[Math.max(this.active, 0)]);
        return;
      }
      if (ev.key === "Escape") {
        ev.preventDefault();
        this.closeList();
        return;
      }
    }
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      this.submit();
    } else if (ev.key === "Escape" && this.replyTo) {
      this.setReply(null);
    }
  }

  /** Hand the text to the outbox at once and clear the composer for the next one. */
  submit() {
    let text = this.input.value;
    if (!text.trim()) {
      if (!this.geo) return;
      text = "My location";
    }
    this.error.textContent = "";
    this.sendFn(text, this.replyTo, this.geo);
    this.input.value = "";
    this.autosize();
    this.setReply(null);
    this.setGeo(null);
    this.closeList();
    this.input.focus();
  }

  /** Put ``text`` back for another try, unless the user is already writing something. */
  restore(text) {
    if (this.input.value.trim()) this.input.value += "\n" + text;
    else this.input.value = text;
    this.autosize();
    this.input.focus();
  }

  setReply(m) {
    this.replyTo = m;
    $("reply-bar").hidden = !m;
    if (m) {
      $("reply-text").textContent = `Replying to ${m.callsign}: ${snippet(m, 60)}`;
      this.input.focus();
    }
  }

  setGeo(geo) {
    this.geo = geo;
    $("geo-bar").hidden = !geo;
    if (geo) {
      $("geo-text").textContent =
        `Sharing your location ${geo[0].toFixed(5)}, ${geo[1].toFixed(5)} (grid ${maidenhead(geo[0], geo[1])})`;
    }
  }

  locate() {
    this.error.textContent = "";
    if (!navigator.geolocation) {
      this.error.textContent = "This browser cannot tell its location.";
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (pos) => this.setGeo([pos.coords.latitude, pos.coords.longitude]),
      (err) => {
        this.error.textContent = "No location: " + (err.message || "permission refused");
      },
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
    );
  }

  // -- @mention completion -----------------------------------------------------------

  async complete() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const m = before.match(MENTION_AT_CARET);
    if (!m) return this.closeList();
    const prefix = (m[1] || "").toUpperCase();
    const cached = this.cache.get(prefix);
    let names = cached && Date.now() - cached.at < CACHE_MS ? cached.names : null;
    if (!names) {
      try {
        const reply = await api.get("callsigns", { zone: this.zone, prefix });
        names = reply.callsigns.map((c) => (typeof c === "string" ? c : c.callsign));
      } catch (err) {
        return this.closeList();
      }
      this.cache.set(prefix, { names, at: Date.now() });
    }
    const now = this.input.value.slice(0, this.input.selectionStart).match(MENTION_AT_CARET);
    if (!now || (now[1] || "").toUpperCase() !== prefix) return; // typed on meanwhile
    this.options = names.filter((n) => n !== prefix).slice(0, MAX_OPTIONS);
    clear(this.list);
    if (!this.options.length) return this.closeList();
    this.options.forEach((name, i) => {
      this.list.append(
        el(
          "li",
          {
            role: "option",
            id: `mention-opt-${i}`,
            "aria-selected": "false",
            onmousedown: (ev) => {
              ev.preventDefault();
              this.choose(name);
            },
          },
          "@" + name,
        ),
      );
    });
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.highlight(0);
  }

  highlight(i) {
    this.active = i;
    [...this.list.children].forEach((li, j) => li.setAttribute("aria-selected", String(i === j)));
    this.input.setAttribute("aria-activedescendant", `mention-opt-${i}`);
  }

  choose(name) {
    const caret = this.input.selectionStart;
    const before = this.input.value.slice(0, caret);
    const after = this.input.value.slice(caret);
    const start = before.lastIndexOf("@");
    this.input.value = before.slice(0, start) + "@" + name + " " + after;
    const pos = start + name.length + 2;
    this.input.setSelectionRange(pos, pos);
    this.closeList();
    this.input.focus();
  }

  closeList() {
    this.list.hidden = true;
    this.options = [];
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }
}
