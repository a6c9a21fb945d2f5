// Settings: the signed-in user's own name and password, and for a church's admins its quiet
// hours. A password change signs out every other session (their tokens stop working); this
// tab keeps going with the new token the server answers.

import { api, replaceToken, renamed } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";
import { quietHoursCard } from "/console/quiet_hours.js";

export function renderSettings(main) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200 });
  const email = h("p", { class: "hint" });
  const nameError = h("p", { class: "error", role: "alert" });
  api("GET", "/api/me").then((me) => {
    name.value = me.name;
    email.textContent = `Signed in as ${me.email} (${me.role}).`;
  }, (e) => (nameError.textContent = e.message));
  const nameForm = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    nameError.textContent = "";
    try {
      const me = await api("PATCH", "/api/me", { name: name.value });
      announce("Your name is saved.");
      renamed(me.name);
    } catch (e) {
      nameError.textContent = e.message;
    }
  } },
    h("h2", {}, "Your name"),
    email,
    ...field("Name", name),
    nameError,
    h("button", { type: "submit" }, "Save name"));

  const current = h("input", { type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", autocomplete: "new-password", required: true });
  const passwordError = h("p", { class: "error", role: "alert" });
  const passwordForm = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    passwordError.textContent = "";
    try {
      const answer = await api("POST", "/api/auth/password",
        { currentPassword: current.value, newPassword: next.value });
      current.value = "";
      next.value = "";
      announce("Password changed. Other sessions are signed out.");
      replaceToken(answer);
    } catch (e) {
      passwordError.textContent = e.message;
    }
  } },
    h("h2", {}, "Password"),
    ...field("Current password", current),
    ...field("New password", next),
    passwordError,
    h("button", { type: "submit" }, "Change password"));

  main.replaceChildren(h("h1", {}, "Settings"), nameForm, passwordForm,
    ...[quietHoursCard()].filter(Boolean));
}
