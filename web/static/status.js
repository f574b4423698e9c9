"use strict";
// Poll the JSON API every two seconds; rows are built with textContent so nothing from a caller is ever HTML.
function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = value === null || value === undefined ? "" : String(value);
      tr.appendChild(td);
    }
    return tr;
  }));
}
async function refresh() {
  try {
    const status = await (await fetch("/api/status")).json();
    const calls = await (await fetch("/api/calls?limit=20")).json();
    if (status.error) throw new Error(status.error);
    fill("lines", status.lines.map((l) => [l.id, l.state, l.reason]));
    fill("handsets", status.handsets.map((h) => [h.id, h.operator, h.state]));
    fill("live", status.calls.map((c) => [c.line, c.caller, c.state, c.menu_path, c.seconds]));
    fill("calls", calls.calls.map((c) => [new Date(c.started_at * 1000).toLocaleString(), c.caller, c.menu_path,
      c.operator, c.wait_seconds, c.talk_seconds, c.outcome]));
    document.getElementById("error").textContent = "";
  } catch (err) {
    document.getElementById("error").textContent = "Cannot reach the box: " + err.message;
  }
}
refresh();
setInterval(refresh, 2000);
