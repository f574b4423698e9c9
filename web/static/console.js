"use strict";
// Reload the console when a different call reaches the chosen handset, unless the operator is typing.
const select = document.getElementById("console-handset");
const current = document.getElementById("current-call");
const shown = current ? current.dataset.call : null;
async function watch() {
  const typing = document.activeElement && ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName);
  if (!select || typing) return;
  try {
    const status = await Hotline.get("/api/status");
    const call = status.calls.find((c) => c.handset === select.value);
    if ((call ? call.id : null) !== shown) window.location.reload();
  } catch (err) {
    // The page itself shows when the box is unreachable; keep watching.
  }
}
setInterval(watch, 3000);
