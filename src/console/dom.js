// Building the page from data without ever parsing data as HTML.

/** `h("button", { type: "submit", onclick }, "Send")`: an element with attributes (`on…`
 * become listeners, `false`/`null` are left out) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

let nextId = 0;

/** A unique id, to tie a label to its control. */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled control: `field("Email", h("input", { type: "email" }))`. */
export function field(label, control, hint) {
  control.id ||= uid("f");
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    hint.id ||= uid("hint");
    control.setAttribute("aria-describedby", hint.id);
    parts.push(hint);
  }
  return parts;
}

/** Says something to the user (and to screen readers) for a few seconds. */
export function announce(text) {
  const status = document.getElementById("status");
  status.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => (status.textContent = ""), 5000);
}

/** A destructive button asks once more: the first click relabels it `confirmText` (and its
 * accessible name `confirmLabel`) and answers false; the second answers true. */
export function confirmed(button, confirmText, confirmLabel) {
  if (button.dataset.confirm === "yes") return true;
  button.dataset.confirm = "yes";
  button.textContent = confirmText;
  button.setAttribute("aria-label", confirmLabel);
  return false;
}
