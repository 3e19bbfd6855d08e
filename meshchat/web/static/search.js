// Search results in the main list: newest first, how many there are ("114 results",
// "1,000+ results"), the words found marked (<mark> elements built with the DOM API),
// "Show more results" to page back past the first 50, and the search form's scope
// ("everywhere" or only the channel or conversation one came from: an in: filter).

import * as api from "./api.js";
import { $, clear, el } from "./dom.js";
import { settleFolds } from "./fold.js";
import { resetList, rowContext } from "./list.js";
import { messageRow } from "./messages.js";
import { noteYours, S } from "./state.js";
import { placeDays } from "./time.js";

const PAGE = 50;
let shown = null; // {q, oldest, terms, pattern} of the results on screen

/** A pattern marking ``terms`` in text: whole words, and the last one as a prefix. */
export function termPattern(terms) {
  if (!terms || !terms.length) return null;
  const escape = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const parts = terms.map((t, i) =>
    i === terms.length - 1 ? escape(t) : `${escape(t)}(?![\\p{L}\\p{N}])`);
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${parts.join("|")})`, "giu");
}

/** Wrap what ``pattern`` matches in the text nodes under ``root`` in <mark>. */
export function highlight(root, pattern) {
  if (!pattern) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
  for (const node of nodes) {
    const text = node.nodeValue;
    const re = new RegExp(pattern);
    let last = 0;
    const parts = [];
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (!m[0]) {
        re.lastIndex += 1;
        continue;
      }
      if (m.index > last) parts.push(document.createTextNode(text.slice(last, m.index)));
      parts.push(el("mark", null, m[0]));
      last = m.index + m[0].length;
    }
    if (!parts.length) continue;
    if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
    node.replaceWith(...parts);
  }
}

function describe(reply, q) {
  const n = reply.total;
  const count =
    n === null || n === undefined ? "" :
    n === 0 ? "No results" :
    !reply.total_exact && n >= 1000 ? `${n.toLocaleString()}+ results` :
    !reply.total_exact ? `at least ${n.toLocaleString()} results` :
    n === 1 ? "1 result" : `${n.toLocaleString()} results`;
  const f = reply.filters || {};
  const where = [
    f.from ? `from ${f.from}` : null,
    f.channel !== null && f.channel !== undefined ? `in ${f.channel ? "#" + f.channel : "Everything"}` : null,
    f.dm ? `with ${f.dm}` : null,
  ].filter(Boolean);
  const words = (reply.terms || []).length ? `for “${(reply.terms || []).join(" ")}”` : "";
  return [count, words, ...where].filter(Boolean).join(" ") || `Results for “${q}”`;
}

function appendRows(msgs) {
  const list = $("messages");
  const ctx = { ...rowContext(), showChannel: true, highlight: (body) => highlight(body, shown.pattern) };
  const more = list.querySelector(".more-results");
  for (const m of [...msgs].reverse()) { // newest first
    S.cache.put(m);
    const row = messageRow(m, ctx);
    row.classList.add("result");
    row.tabIndex = 0;
    if (more) list.insertBefore(row, more);
    else list.append(row);
  }
  placeDays(list);
  settleFolds(list);
}

function placeMore(hasMore) {
  const list = $("messages");
  const old = list.querySelector(".more-results");
  if (old) old.remove();
  if (hasMore) {
    list.append(el("button", { type: "button", class: "more-results link-btn", onclick: () => loadMoreResults() },
      "Show more results"));
  }
}

/** Show the first page of the search the view names; ``current()`` false drops it. */
export async function loadSearch(current) {
  const q = S.view.q;
  const reply = await api.get("messages", { zone: S.zone, q, limit: PAGE });
  if (!current()) return;
  noteYours(reply);
  resetList();
  S.hasOlder = false;
  S.atLive = false;
  const msgs = reply.messages;
  shown = { q, oldest: msgs.length ? msgs[0].id : null, pattern: termPattern(reply.terms) };
  const list = $("messages");
  list.append(el("p", { class: "search-summary", role: "status" }, describe(reply, q)));
  appendRows(msgs);
  placeMore(msgs.length === PAGE);
  list.scrollTop = 0;
  S.lastScrollTop = 0;
}

/** Add the next page of results, older ones, below those shown. */
export async function loadMoreResults() {
  if (!shown || !shown.oldest || S.view.kind !== "search" || S.view.q !== shown.q) return;
  const button = $("messages").querySelector(".more-results");
  if (button) button.disabled = true;
  try {
    const reply = await api.get("messages", { zone: S.zone, q: shown.q, limit: PAGE, before: shown.oldest });
    noteYours(reply);
    if (S.view.kind !== "search" || S.view.q !== shown.q) return;
    if (reply.messages.length) shown.oldest = reply.messages[0].id;
    appendRows(reply.messages);
    placeMore(reply.messages.length === PAGE);
  } catch (err) {
    if (button) button.disabled = false;
    $("messages").append(el("p", { class: "sys" }, "Could not load more results: " + err.message));
  }
}

// -- the search form's scope -------------------------------------------------------------

let place = { kind: "all", name: "" }; // the last view that was not a search

function quoted(name) {
  return /[\s"]/.test(name) ? `in:"#${name.replace(/"/g, "")}"` : `in:#${name}`;
}

/** Offer "only here" for the channel or conversation being read (called on each view). */
export function showScope(view) {
  if (view.kind !== "search") place = view;
  const select = $("search-scope");
  clear(select);
  select.append(el("option", { value: "all" }, "Everywhere"));
  if (place.kind === "channel") select.append(el("option", { value: "here" }, `In #${place.name}`));
  if (place.kind === "dm") select.append(el("option", { value: "here" }, `With ${place.name}`));
  select.hidden = select.options.length < 2;
}

/** The query the search form asks for: its text, narrowed to one place on request. */
export function scopedQuery(text) {
  if ($("search-scope").value !== "here" || /(^|\s)in:/i.test(text)) return text;
  if (place.kind === "channel") return `${quoted(place.name)} ${text}`;
  if (place.kind === "dm") return `in:@${place.name} ${text}`;
  return text;
}
