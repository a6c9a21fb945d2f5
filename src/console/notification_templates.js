// Notification templates: admins write what each channel says once (the app's title and text,
// the email's subject, text and HTML) with {{ variables }}, change it (each change is a new
// version), and preview it filled in before sending. The send form lists them (see
// notifications.js), so a send can use one.

import { api } from "/console/session.js";
import { h, field, announce } from "/console/dom.js";

/** The names of the caller's templates, for the send form. */
export async function templateNames() {
  const { templates } = await api("GET", "/api/admin/templates");
  return templates.map((t) => t.name);
}

/** Reads a JSON object of variables, or says what is wrong with it. */
export function readVars(text) {
  if (!text.trim()) return {};
  const vars = JSON.parse(text);
  if (vars === null || typeof vars !== "object" || Array.isArray(vars)) {
    throw new Error("Variables are a JSON object, such as {\"day\": \"Sunday\"}.");
  }
  return vars;
}

export function templatesCard(changed) {
  const chosen = h("select", { name: "template" }, h("option", { value: "" }, "New template"));
  const name = h("input", { type: "text", name: "template-name", maxlength: 64,
    pattern: "[a-z0-9][a-z0-9_\\-]{0,63}" });
  const title = h("input", { type: "text", name: "app-title", required: true });
  const body = h("textarea", { name: "app-text", required: true });
  const subject = h("input", { type: "text", name: "email-subject", required: true });
  const text = h("textarea", { name: "email-text", required: true });
  const html = h("textarea", { name: "email-html" });
  const vars = h("textarea", { name: "template-vars", placeholder: "{\"day\": \"Sunday\"}" });
  const version = h("p", { class: "hint" });
  const error = h("p", { class: "error", role: "alert" });
  const shown = h("dl", { id: "template-preview" });
  let templates = [];

  async function load(select) {
    try {
      ({ templates } = await api("GET", "/api/admin/templates"));
      chosen.replaceChildren(h("option", { value: "" }, "New template"),
        ...templates.map((t) => h("option", { value: t.name }, t.name)));
      chosen.value = select ?? "";
      fill();
    } catch (e) {
      error.textContent = e.message;
    }
  }
  function fill() {
    const t = templates.find((x) => x.name === chosen.value);
    name.disabled = Boolean(t);
    name.value = t ? t.name : "";
    title.value = t ? t.inApp.title : "";
    body.value = t ? t.inApp.body : "";
    subject.value = t ? t.email.subject : "";
    text.value = t ? t.email.text : "";
    html.value = t?.email.html ?? "";
    version.textContent = t ? `Version ${t.version}; saving makes version ${t.version + 1}.` : "";
    shown.replaceChildren();
  }
  chosen.addEventListener("change", fill);

  async function save(e) {
    e.preventDefault();
    const content = {
      inApp: { title: title.value, body: body.value },
      email: { subject: subject.value, text: text.value, html: html.value.trim() ? html.value : null },
    };
    try {
      const saved = chosen.value
        ? await api("PUT", `/api/admin/templates/${encodeURIComponent(chosen.value)}`, content)
        : await api("POST", "/api/admin/templates", { name: name.value, ...content });
      error.textContent = "";
      announce(`Saved ${saved.name}, version ${saved.version}`);
      await load(saved.name);
      changed?.();
    } catch (err) {
      error.textContent = err.message;
    }
  }
  async function preview() {
    if (!chosen.value) {
      error.textContent = "Save the template before previewing it.";
      return;
    }
    try {
      const p = await api("POST", `/api/admin/templates/${encodeURIComponent(chosen.value)}/preview`,
        { vars: readVars(vars.value) });
      error.textContent = "";
      shown.replaceChildren(
        h("dt", {}, "App"), h("dd", {}, `${p.inApp.title}: ${p.inApp.body}`),
        h("dt", {}, "Email subject"), h("dd", {}, p.email.subject),
        h("dt", {}, "Email text"), h("dd", { class: "body" }, p.email.text));
    } catch (err) {
      shown.replaceChildren();
      error.textContent = err.message;
    }
  }
  load();
  return h("form", { class: "card", "aria-labelledby": "templates-h", onsubmit: save },
    h("h2", { id: "templates-h" }, "Notification templates"),
    h("p", { class: "hint" }, "Write {{ name }} where a send fills in a value; the email's HTML escapes values."),
    ...field("Edit template", chosen), version,
    ...field("Template name", name),
    ...field("App title", title), ...field("App text", body),
    ...field("Email subject", subject), ...field("Email text", text),
    ...field("Email HTML (optional)", html),
    h("button", { type: "submit" }, "Save template"),
    ...field("Preview variables (JSON)", vars),
    h("button", { type: "button", class: "plain", onclick: preview }, "Preview template"),
    error, shown);
}
