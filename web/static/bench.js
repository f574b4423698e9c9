"use strict";
// The simulation bench: a phone to call the box and the handsets to lift, all through /api/sim/, and the call
// in progress told in words: its state, where it is in the flow and what the caller hears now.
const WORDS = JSON.parse(document.getElementById("bench-words").textContent);
const NODES = JSON.parse(document.getElementById("bench-nodes").textContent);
const SPEAK_SECONDS = 5;
const POLL_MS = 500;
const result = document.getElementById("bench-result");
function say(word, values) {
  return (WORDS[word] || word).replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? values[name] : all));
}
function line() { const select = document.getElementById("line"); return select ? select.value : null; }
async function act(path, body, done) {
  result.hidden = false;
  result.classList.remove("error");
  try {
    await Hotline.post(path, body);
    result.textContent = done;
  } catch (err) {
    result.classList.add("error");
    result.textContent = err.message;
  }
  refresh();
}
document.getElementById("call").addEventListener("click", () => {
  const caller = document.getElementById("caller").value.trim();
  act("/api/sim/call", {caller: caller || null, line: line()}, say("calling", {caller: caller || "—"}));
});
document.getElementById("hangup").addEventListener("click", () =>
  act("/api/sim/hangup", {line: line()}, say("hangup")));
document.getElementById("speak").addEventListener("click", () =>
  act("/api/sim/speak", {seconds: SPEAK_SECONDS, line: line()}, say("speaks", {seconds: SPEAK_SECONDS})));
for (const key of document.querySelectorAll("[data-key]")) {
  key.addEventListener("click", () =>
    act("/api/sim/dtmf", {digits: key.dataset.key, line: line()}, say("key", {key: key.dataset.key})));
}
for (const button of document.querySelectorAll("[data-lift]")) {
  button.addEventListener("click", () => act("/api/sim/handsets/" + button.dataset.lift + "/offhook", {},
                                             say("lift", {handset: button.dataset.lift})));
}
for (const button of document.querySelectorAll("[data-replace]")) {
  button.addEventListener("click", () => act("/api/sim/handsets/" + button.dataset.replace + "/onhook", {},
                                             say("replace", {handset: button.dataset.replace})));
}
// What the caller hears: the prompt's own words, a tone named, or — between prompts — silence (or a recording).
function hears(call) {
  if (call.prompt_text) return call.prompt_text;
  if (call.prompt) return WORDS[call.prompt] || say("no_text", {prompt: call.prompt});
  return NODES[call.node] === "voicemail" ? say("recording") : say("silence");
}
function showCall(call) {
  document.getElementById("bench-idle").hidden = Boolean(call);
  document.getElementById("bench-live").hidden = !call;
  if (!call) return;
  // A caller in a voicemail node is "in the menu" to the switchboard; to a trainee they are leaving a message.
  const state = NODES[call.node] === "voicemail" && call.state === "in menu" ? "voicemail" : call.state;
  document.getElementById("bench-state").textContent =
    say(state) + " · " + say("seconds", {seconds: Math.round(call.seconds)});
  document.getElementById("bench-hears").textContent = hears(call);
  document.getElementById("bench-node").textContent = call.node || "—";
  document.getElementById("bench-path").textContent = call.menu_path || "—";
}
async function refresh() {
  try {
    const status = await Hotline.get("/api/status");
    showCall(status.calls.find((c) => c.line === (line() || c.line)) || null);
    for (const h of status.handsets) {
      const cell = document.querySelector('[data-handset="' + h.id + '"]');
      if (cell) cell.textContent = say(h.state);
    }
  } catch (err) {
    result.hidden = false;
    result.textContent = err.message;
  }
}
async function poll() {
  await refresh();
  setTimeout(poll, POLL_MS);
}
poll();
