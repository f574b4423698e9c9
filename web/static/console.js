"use strict";
// Keep the console on the call at this handset: the moment a call starts ringing it, is answered or leaves,
// the page's call part is fetched afresh and swapped in (no reload, so nothing flashes) — unless the operator
// is typing. A ringing call must show before the receiver is lifted, so the poll is short: one small status
// read every quarter second.
const POLL_MS = 250;
function shown() {
  const current = document.getElementById("current-call");
  return current ? current.dataset.call + "/" + current.dataset.state : null;
}
function seen(status, handset) {
  const call = status.calls.find((c) => c.handset === handset || (c.ringing || []).includes(handset));
  if (!call) return null;
  return call.id + "/" + (call.handset === handset ? call.state : "ringing");
}
async function swapIn(handset) {
  const url = new URL(window.location.href);
  url.searchParams.set("handset", handset);
  const resp = await fetch(url, {credentials: "same-origin"});
  if (!resp.ok) return;
  const fresh = new DOMParser().parseFromString(await resp.text(), "text/html").querySelector(".console");
  if (fresh) document.querySelector(".console").replaceWith(fresh);
}
async function watch() {
  const select = document.getElementById("console-handset");
  const typing = document.activeElement && ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName);
  if (select && !typing) {
    try {
      // no older than this poll: a status the web kept from before the ring would hide it for up to a second more
      const status = await Hotline.get("/api/status?max_age=" + POLL_MS / 1000);
      if (seen(status, select.value) !== shown()) await swapIn(select.value);
    } catch (err) {
      // The page itself shows when the box is unreachable; keep watching.
    }
  }
  setTimeout(watch, POLL_MS);
}
setTimeout(watch, POLL_MS);
