"use strict";
// Reload the console when a different call reaches the chosen handset, unless the operator is typing.
const select = document.getElementById("console-handset");
const shown = document.getElementById("current-call") ? document.querySelector('input[name="call_id"]').value : null;
async function watch() {
  if (!select || document.activeElement && document.activeElement.tagName === "TEXTAREA") return;
  try {
    const status = await Hotline.get("/api/status");
    const call = status.calls.find((c) => c.handset === select.value);
    if ((call ? call.id : null) !== shown) window.location.reload();
  } catch (err) {
    // The page itself shows when the box is unreachable; keep watching.
  }
}
setInterval(watch, 3000);
