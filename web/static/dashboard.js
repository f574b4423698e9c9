"use strict";
// Poll the box every two seconds: lines, handsets, calls in progress and today's figures.
async function refresh() {
  const error = document.getElementById("error");
  try {
    const reply = await Hotline.get("/api/dashboard");
    const status = reply.status, today = reply.today;
    fillToday(today);
    fillOpening(reply.opening);
    Hotline.fill("lines", status.lines.map((l) => {
      const modem = l.modem || {};
      return [l.id, Hotline.t(l.state) + (l.reason_words ? " — " + l.reason_words : ""), Hotline.t(modem.registration),
        modem.signal_dbm === undefined || modem.signal_dbm === null ? "" : modem.signal_dbm + " dBm",
        modem.operator, forwarding(modem.forwarding)];
    }));
    status.lines.forEach((l, i) => {  // why it is down, in the daemon's English too when that says more
      if (l.reason_detail) {
        document.querySelector("#lines tbody").rows[i].cells[1].appendChild(technical(l.reason_detail));
      }
    });
    Hotline.fill("handsets", status.handsets.map((h) => [h.id, h.operator, Hotline.t(h.state)]));
    Hotline.fill("live", status.calls.map((c) => [c.line, c.caller || "—", Hotline.t(c.state), c.menu_path,
      c.handset, c.seconds]));
    document.getElementById("waiting").textContent =
      String(status.calls.filter((c) => c.state !== "connected").length);
    fillAlarms(status.alarms || []);
    const banner = document.getElementById("announcement-on");
    banner.hidden = !status.announcement;
    banner.querySelector("strong").textContent = status.announcement || "";
    error.hidden = true;
  } catch (err) {
    error.textContent = Hotline.t("Cannot reach the box") + ": " + err.message;
    error.hidden = false;
  }
}
// A line's call forwarding to a sibling box (docs/fleet.md): the number, and whether the network has it in force.
function forwarding(f) {
  if (!f) return "";
  const state = f.in_force === null ? "not read yet" : f.problem ? "not in force" : "in force";
  return f.to + " (" + Hotline.t(state) + ")";
}
// The daemon's alarms (docs/alarms.md): what an admin must act on, such as a full disk.
function fillAlarms(alarms) {
  const list = document.getElementById("alarms");
  list.replaceChildren(...alarms.map((a) => {
    const item = document.createElement("li");
    item.className = a.severity;
    item.textContent = a.words + " (" + Hotline.t("since") + " " + a.since_text + ")";
    if (a.detail) item.appendChild(technical(a.detail));
    return item;
  }));
  document.getElementById("alarms-box").hidden = alarms.length === 0;
}
// The daemon's own English, for a technician: marked so, not translated by the browser.
function technical(text) {
  const detail = document.createElement("small");
  detail.lang = "en";
  detail.translate = false;
  detail.textContent = " " + text;
  return detail;
}
// Open or closed, forced by whom until when: the server words it, as on the page's first load.
function fillOpening(opening) {
  const line = document.getElementById("opening");
  line.textContent = opening.text;
  line.className = "flash " + (opening.open ? "info" : "error");
  line.hidden = false;
}
function fillToday(today) {
  document.getElementById("today-total").textContent = today.total;
  document.getElementById("today-answered").textContent = today.answered;
  document.getElementById("today-abandoned").textContent = today.abandoned;
  document.getElementById("today-wait").textContent = today.average_wait;
}
refresh();
setInterval(refresh, 2000);
