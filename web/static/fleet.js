"use strict";
// The fleet page follows the broker live: every two seconds, as the daemon last heard each box.
async function refreshFleet() {
  const error = document.getElementById("fleet-error");
  try {
    const reply = await Hotline.get("/api/fleet");
    Hotline.fill("fleet", reply.rows);
    Hotline.fill("moves", reply.move_rows);
    document.getElementById("broker-lost").hidden = reply.connected !== false;
    error.hidden = true;
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
}
setInterval(refreshFleet, 2000);
