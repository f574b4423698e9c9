"use strict";
// The simulation bench: a phone to call the box and the handsets to lift, all through /api/sim/.
const result = document.getElementById("bench-result");
function line() { const select = document.getElementById("line"); return select ? select.value : null; }
async function act(path, body) {
  try {
    const reply = await Hotline.post(path, body);
    result.textContent = JSON.stringify(reply);
  } catch (err) {
    result.textContent = err.message;
  }
  setTimeout(refreshStates, 300);
}
document.getElementById("call").addEventListener("click", () => {
  const caller = document.getElementById("caller").value.trim();
  act("/api/sim/call", {caller: caller || null, line: line()});
});
document.getElementById("hangup").addEventListener("click", () => act("/api/sim/hangup", {line: line()}));
for (const key of document.querySelectorAll("[data-key]")) {
  key.addEventListener("click", () => act("/api/sim/dtmf", {digits: key.dataset.key, line: line()}));
}
for (const button of document.querySelectorAll("[data-lift]")) {
  button.addEventListener("click", () => act("/api/sim/handsets/" + button.dataset.lift + "/offhook"));
}
for (const button of document.querySelectorAll("[data-replace]")) {
  button.addEventListener("click", () => act("/api/sim/handsets/" + button.dataset.replace + "/onhook"));
}
async function refreshStates() {
  try {
    const status = await Hotline.get("/api/status");
    for (const h of status.handsets) {
      const cell = document.querySelector('[data-handset="' + h.id + '"]');
      if (cell) cell.textContent = Hotline.t(h.state) + (h.off_hook ? " ☎" : "");
    }
  } catch (err) {
    result.textContent = err.message;
  }
}
setInterval(refreshStates, 2000);
