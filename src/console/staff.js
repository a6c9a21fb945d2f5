// Staff (church admins, on the Dashboard): the church's users, adding one with a temporary
// password, changing a role, disabling and enabling. Disabling keeps what they sent and closes
// their open sessions.

import { api, apiDocument, session } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";

/** `query` names the church for an operator (`?churchId=7`), or is empty. */
export function staffSection(query = "") {
  const tbody = h("tbody");
  const error = h("p", { class: "error", role: "alert" });
  const me = session().user.id;

  const change = async (user, changes, said) => {
    error.textContent = "";
    try {
      await api("PATCH", `/api/admin/users/${user.id}${query}`, changes);
      announce(said);
      load();
    } catch (e) {
      error.textContent = e.message;
    }
  };
  const row = (u) => {
    const other = u.role === "admin" ? "staff" : "admin";
    const actions = u.id === me ? [h("span", { class: "hint" }, "you")] : [
      h("button", { type: "button", class: "plain", "aria-label": `Make ${u.name} ${other}`,
        onclick: () => change(u, { role: other }, `${u.name} is now ${other}.`) }, `Make ${other}`),
      h("button", { type: "button", class: "plain",
        "aria-label": `${u.disabled ? "Enable" : "Disable"} ${u.name}`,
        onclick: () => change(u, { disabled: !u.disabled },
          `${u.name} is ${u.disabled ? "enabled" : "disabled"}.`) },
        u.disabled ? "Enable" : "Disable"),
    ];
    return h("tr", {}, h("td", {}, u.name), h("td", {}, u.email), h("td", {}, u.role),
      h("td", {}, u.disabled ? "disabled" : "active"), h("td", { class: "row" }, ...actions));
  };
  const load = () => api("GET", `/api/admin/users${query}`).then(
    ({ users }) => tbody.replaceChildren(...users.map(row)),
    (e) => (error.textContent = e.message));

  const name = h("input", { type: "text", required: true, autocomplete: "off" });
  const email = h("input", { type: "email", required: true, autocomplete: "off" });
  const role = h("select", {});
  apiDocument().then((document) => {
    const roles = document.components.schemas.NewStaffUser.properties.role.enum ?? [];
    role.replaceChildren(...roles.map((r) => h("option", { value: r }, r)));
  }, (e) => (error.textContent = e.message));
  const password = h("input", { type: "password", required: true, autocomplete: "new-password" });
  const add = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const user = await api("POST", `/api/admin/users${query}`,
        { name: name.value, email: email.value, role: role.value, password: password.value });
      for (const input of [name, email, password]) input.value = "";
      announce(`Added ${user.name}.`);
      load();
    } catch (e) {
      error.textContent = e.message;
    }
  } },
    h("h3", {}, "Add a staff user"),
    ...field("Staff name", name),
    ...field("Staff email", email),
    ...field("Role", role),
    ...field("Temporary password", password,
      h("p", { class: "hint" }, "They change it in Settings after signing in.")),
    h("button", { type: "submit" }, "Add staff user"));

  load();
  return h("section", { class: "card", "aria-labelledby": "staff-h" },
    h("h2", { id: "staff-h" }, "Staff"),
    h("table", { "aria-labelledby": "staff-h" },
      h("thead", {}, h("tr", {}, ...["Name", "Email", "Role", "Status", "Actions"]
        .map((t) => h("th", {}, t)))),
      tbody),
    error,
    add);
}
