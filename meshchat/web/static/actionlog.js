// The action log on the status page: the node's action rules and their last runs (from
// the ``actions`` part of GET /api/v1/status). Script output is shown as text only.

import { ago, el } from "./dom.js";
import { fullStamp } from "./time.js";

const OUTPUT_SHOWN = 120;

function stateClass(state) {
  return state === "ok" ? "synced" : state === "failed" || state === "interrupted" ? "failing" : "stale";
}

function record(r) {
  const where = r.channel ? ` #${r.channel}` : "";
  const text = r.text.length > 60 ? r.text.slice(0, 59) + "…" : r.text;
  return `${r.callsign || "?"}${where}: ${text}`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return "";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Append the action log to ``target`` when the node reports one (it has rules or runs). */
export function renderActions(target, actions) {
  if (!actions || (!actions.rules.length && !actions.runs.length)) return;
  const table = el("table", { class: "peers actions" });
  table.append(el("caption", null, `Actions (${actions.rules.length} rule${actions.rules.length === 1 ? "" : "s"}: ${actions.rules.join(", ") || "none"})`));
  table.append(el("thead", null, el("tr", null,
    ...["Time", "Rule", "Record", "State", "Exit", "Duration", "Output"].map(
      (t) => el("th", { scope: "col" }, t)))));
  const tbody = el("tbody");
  for (const run of actions.runs) {
    const when = run.finished_at || run.started_at || run.queued_at;
    const output = run.output || run.detail || "";
    tbody.append(el("tr", null,
      el("td", { title: fullStamp(when) }, ago(when)),
      el("th", { scope: "row" }, run.target ? `${run.rule} → ${run.target}` : run.rule),
      el("td", { title: run.record.text }, record(run.record)),
      el("td", { title: run.detail }, el("span", { class: `dot ${stateClass(run.state)}` }),
        " " + run.state + (run.attempts > 1 ? ` (${run.attempts} tries)` : "")),
      el("td", null, run.exit_status === null ? "" : String(run.exit_status)),
      el("td", null, duration(run.duration_ms)),
      el("td", { class: "muted", title: output }, output.length > OUTPUT_SHOWN ? output.slice(0, OUTPUT_SHOWN) + "…" : output)));
  }
  if (!actions.runs.length) tbody.append(el("tr", null, el("td", { colspan: 7 }, "No runs yet.")));
  table.append(tbody);
  target.append(el("div", { class: "table-wrap" }, table));
}
