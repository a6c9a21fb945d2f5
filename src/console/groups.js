// Groups: the church's groups of members ("Choir", "Youth"), made, renamed and deleted here,
// and filled by ticking members; a send can go to groups (Messages page).

import { api } from "/console/session.js";
import { h, field, announce, confirmed } from "/console/dom.js";

export function renderGroups(main) {
  let groups = [];
  let members = [];
  const tbody = h("tbody");
  const listError = h("p", { class: "error", role: "alert" });
  const editor = h("section", { class: "card", hidden: true, "aria-labelledby": "group-h" });

  async function load() {
    try {
      [groups, members] = await Promise.all([
        api("GET", "/api/groups").then((a) => a.groups),
        api("GET", "/api/members?fields=id,name,phone").then((a) => a.members),
      ]);
      listError.textContent = "";
      draw();
    } catch (e) {
      listError.textContent = e.message;
    }
  }

  function draw() {
    tbody.replaceChildren(...groups.map(groupRow));
  }

  function groupRow(g) {
    const row = h("tr", {});
    const show = () => row.replaceChildren(
      h("td", {}, g.name),
      h("td", {}, String(g.memberCount)),
      h("td", { class: "row" },
        h("button", { type: "button", class: "plain", "aria-label": `Members of ${g.name}`,
          onclick: () => open(g) }, "Members"),
        h("button", { type: "button", class: "plain", "aria-label": `Rename ${g.name}`, onclick: rename }, "Rename"),
        h("button", { type: "button", class: "plain", "aria-label": `Delete ${g.name}`, onclick: remove }, "Delete")));
    function rename() {
      const name = h("input", { type: "text", value: g.name, "aria-label": "Group name", maxlength: 100 });
      const error = h("span", { class: "error", role: "alert" });
      row.replaceChildren(h("td", {}, name), h("td", {}, error),
        h("td", { class: "row" },
          h("button", { type: "button", onclick: async () => {
            try {
              Object.assign(g, await api("PATCH", `/api/groups/${g.id}`, { name: name.value }));
              announce(`Renamed to ${g.name}.`);
              show();
            } catch (e) {
              error.textContent = e.message;
            }
          } }, "Save"),
          h("button", { type: "button", class: "plain", onclick: show }, "Cancel")));
      name.focus();
    }
    function remove(event) {
      if (!confirmed(event.currentTarget, "Confirm deletion", `Confirm deletion of ${g.name}`)) return;
      api("DELETE", `/api/groups/${g.id}`).then(() => {
        groups = groups.filter((x) => x.id !== g.id);
        if (editor.dataset.group === String(g.id)) editor.hidden = true;
        announce(`Deleted ${g.name}; its members stay members.`);
        draw();
      }, (e) => (listError.textContent = e.message));
    }
    show();
    return row;
  }

  /** Ticking a member puts them in the group at once; unticking takes them out. */
  async function open(g) {
    editor.hidden = false;
    editor.dataset.group = String(g.id);
    const error = h("p", { class: "error", role: "alert" });
    editor.replaceChildren(h("h2", { id: "group-h" }, `Members of ${g.name}`), error);
    let inGroup;
    try {
      inGroup = new Set((await api("GET", `/api/groups/${g.id}`)).memberIds);
    } catch (e) {
      error.textContent = e.message;
      return;
    }
    const boxes = members.map((m) => {
      const id = `group-member-${m.id}`;
      const box = h("input", { type: "checkbox", id, checked: inGroup.has(m.id) });
      box.addEventListener("change", async () => {
        error.textContent = "";
        try {
          if (box.checked) {
            Object.assign(g, await api("POST", `/api/groups/${g.id}/members`, { memberIds: [m.id] }));
          } else {
            await api("DELETE", `/api/groups/${g.id}/members/${m.id}`);
            g.memberCount -= 1;
          }
          announce(`${m.name} ${box.checked ? "added to" : "taken out of"} ${g.name}.`);
          draw();
        } catch (e) {
          box.checked = !box.checked;
          error.textContent = e.message;
        }
      });
      return h("label", { for: id }, box, ` ${m.name} (${m.phone})`);
    });
    editor.append(h("div", { class: "members-pick", role: "group", "aria-label": `Members of ${g.name}` }, ...boxes));
  }

  const name = h("input", { type: "text", name: "groupName", required: true, maxlength: 100,
    autocomplete: "off" });
  const addError = h("p", { class: "error", role: "alert" });
  const add = h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    addError.textContent = "";
    try {
      const group = await api("POST", "/api/groups", { name: name.value });
      groups.push(group);
      groups.sort((a, b) => a.name.localeCompare(b.name));
      name.value = "";
      announce(`Made the group ${group.name}.`);
      draw();
    } catch (e) {
      addError.textContent = e.message;
    }
  } },
    h("h2", {}, "New group"),
    ...field("Group name", name),
    addError,
    h("button", { type: "submit" }, "Add group"));

  main.replaceChildren(
    h("h1", {}, "Groups"),
    h("div", { class: "card" },
      listError,
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Group"), h("th", {}, "Members"),
          h("th", {}, h("span", { class: "hint" }, "Actions")))),
        tbody)),
    editor,
    add);
  load();
}
