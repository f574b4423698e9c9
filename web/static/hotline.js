"use strict";
// Shared by the pages' scripts: JSON fetches that carry the session's CSRF token, and safe table filling.
const Hotline = {
  csrf: document.querySelector('meta[name="csrf-token"]').content,
  words: JSON.parse((document.getElementById("i18n") || {}).textContent || "{}"),
  t(text) { return this.words[text] || text; },
  async post(path, body) {
    const resp = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": this.csrf},
      body: JSON.stringify(body || {}),
    });
    const reply = await resp.json();
    if (!resp.ok) throw new Error(reply.words || reply.error || resp.statusText);  // words: in the page's language
    return reply;
  },
  async get(path) {
    const resp = await fetch(path, {credentials: "same-origin"});
    const reply = await resp.json();
    if (!resp.ok) throw new Error(reply.words || reply.error || resp.statusText);
    return reply;
  },
  // Rows are built with textContent so nothing from a caller is ever HTML.
  fill(id, rows) {
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
  },
};
