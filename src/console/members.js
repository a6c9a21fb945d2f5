// Members: the church's list (with the groups each is in) and a search, adding one, editing or
// removing one, and importing a CSV of name,phone[,groups] (each skipped row shown with its
// line and reason).

import { api } from "/console/session.js";
import { h, field, announce, confirmed } from "/console/dom.js";

export function renderMembers(main) {
  let members = [];
  const search = h("input", { type: "search", name: "q" });
  const tbody = h("tbody");
  const count = h("p", { class: "hint", "aria-live": "polite" });
  const listError = h("p", { class: "error", role: "alert" });

  function draw() {
    const q = search.value.trim().toLowerCase();
    const shown = members.filter((m) =>
      !q || m.name.toLowerCase().includes(q) || m.phone.includes(q));
    count.textContent = `${shown.length} of ${members.length} members`;
    tbody.replaceChildren(...shown.map(memberRow));
  }
  // Redrawn once typing pauses, not on every key: a church may have thousands of members.
  let searchTimer = null;
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(draw, 120);
  });

  async function load() {
    try {
      members = (await api("GET", "/api/members")).members;
      listError.textContent = "";
      draw();
    } catch (e) {
      listError.textContent = e.message;
    }
  }

  function memberRow(m) {
    const row = h("tr", {});
    const show = () => row.replaceChildren(
      h("td", {}, m.name),
      h("td", {}, m.phone),
      h("td", {}, (m.groups ?? []).map((g) => g.name).join(", ")),
      h("td", {}, m.optedOutAt ? "opted out (STOP)" : "receives messages"),
      h("td", { class: "row" },
        h("button", { type: "button", class: "plain", "aria-label": `Edit ${m.name}`, onclick: edit }, "Edit"),
        h("button", { type: "button", class: "plain", "aria-label": `Remove ${m.name}`, onclick: remove }, "Remove")));
    function edit() {
      const name = h("input", { type: "text", value: m.name, "aria-label": "Name" });
      const phone = h("input", { type: "text", value: m.phone, "aria-label": "Phone" });
      const error = h("span", { class: "error", role: "alert" });
      row.replaceChildren(h("td", {}, name), h("td", {}, phone), h("td", {}), h("td", {}, error),
        h("td", { class: "row" },
          h("button", { type: "button", onclick: async () => {
            try {
              const updated = await api("PATCH", `/api/members/${m.id}`,
                { name: name.value, phone: phone.value });
              Object.assign(m, updated);
              announce(`Saved ${m.name}.`);
              show();
            } catch (e) {
              error.textContent = e.message;
            }
          } }, "Save"),
          h("button", { type: "button", class: "plain", onclick: show }, "Cancel")));
      name.focus();
    }
    function remove(event) {
      if (!confirmed(event.currentTarget, "Confirm removal", `Confirm removal of ${m.name}`)) return;
      api("DELETE", `/api/members/${m.id}`).then(() => {
        members = members.filter((x) => x.id !== m.id);
        announce(`Removed ${m.name}.`);
        draw();
      }, (e) => (listError.textContent = e.message));
    }
    show();
    return row;
  }

  // Adding one.
  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });
  const phone = h("input", { type: "text", name: "phone", required: true, autocomplete: "off",
    placeholder: "+12025550123" });
  const addError = h("p", { class: "error", role: "alert" });
  const add = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    addError.textContent = "";
    try {
      const member = await api("POST", "/api/members", { name: name.value, phone: phone.value });
      members.push(member);
      name.value = "";
      phone.value = "";
      announce(`Added ${member.name}.`);
      draw();
    } catch (e) {
      addError.textContent = e.message;
    }
  } },
    h("h2", {}, "Add a member"),
    ...field("Name", name),
    ...field("Phone", phone, h("p", { class: "hint" }, "In international form, e.g. +12025550123")),
    addError,
    h("button", { type: "submit" }, "Add member"));

  // Importing a CSV.
  const file = h("input", { type: "file", accept: ".csv,text/csv", required: true });
  const result = h("div", { "aria-live": "polite" });
  const importForm = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    result.replaceChildren();
    try {
      const outcome = await api("POST", "/api/members/import", await chosen.text(), "text/csv");
      const summary = h("p", { class: "import-summary" },
        `Imported ${outcome.created} ${outcome.created === 1 ? "member" : "members"}; ` +
        `${outcome.skipped.length} ${outcome.skipped.length === 1 ? "row" : "rows"} skipped.`);
      const skipped = outcome.skipped.length
        ? h("table", {},
          h("caption", { class: "hint" }, "Rows skipped"),
          h("thead", {}, h("tr", {}, h("th", {}, "Row"), h("th", {}, "Reason"))),
          h("tbody", {}, ...outcome.skipped.map((s) =>
            h("tr", {}, h("td", {}, String(s.row)), h("td", {}, s.reason)))))
        : null;
      result.replaceChildren(summary, skipped ?? "");
      file.value = "";
      load();
    } catch (e) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
    }
  } },
    h("h2", {}, "Import a CSV"),
    ...field("CSV file", file, h("p", { class: "hint" },
      "One member per line: name,phone, or name,phone,groups with the groups split by ; " +
      "(new groups are made). A first line name,phone(,groups) is read as a header.")),
    h("button", { type: "submit" }, "Import"),
    result);

  main.replaceChildren(
    h("h1", {}, "Members"),
    h("div", { class: "card" },
      ...field("Search members", search),
      count,
      listError,
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Phone"), h("th", {}, "Groups"),
          h("th", {}, "Status"),
          h("th", {}, h("span", { class: "hint" }, "Actions")))),
        tbody)),
    add,
    importForm);
  load();
}
