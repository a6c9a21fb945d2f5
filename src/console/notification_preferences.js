// The user's notification preferences (on the Notifications page): which channels each
// category goes by, their time zone and quiet hours on chosen days, the digest, and their own
// mobile number for SMS. The server fills in the defaults and names a wrong field.

import { api } from "/console/session.js";
import { h, field, announce, uid } from "/console/dom.js";

const CATEGORIES = [
  ["announcement", "Announcements"], ["delivery", "Finished broadcasts"],
  ["chat", "Chat mentions"], ["system", "System"], ["security", "Security"],
];
const CHANNELS = [["in_app", "in the app"], ["email", "by email"], ["sms", "by SMS"]];
const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
  ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];

function checkbox(label) {
  const box = h("input", { type: "checkbox", id: uid("c"), "aria-label": label });
  return box;
}

export function preferencesCard() {
  const boxes = new Map();
  const rows = CATEGORIES.map(([key, name]) => h("tr", {},
    h("th", { scope: "row" }, name),
    ...CHANNELS.map(([channel, how]) => {
      const box = checkbox(`${name} ${how}`);
      boxes.set(`${key}.${channel}`, box);
      return h("td", {}, box);
    })));
  const zones = h("datalist", { id: "my-time-zones" },
    ...(Intl.supportedValuesOf?.("timeZone") ?? []).map((zone) => h("option", { value: zone })));
  const zone = h("input", { type: "text", name: "myTimezone", list: "my-time-zones",
    maxlength: 64, autocomplete: "off" });
  const quiet = checkbox("My quiet hours on");
  const start = h("input", { type: "time", name: "myQuietStart" });
  const end = h("input", { type: "time", name: "myQuietEnd" });
  const days = new Map(DAYS.map(([key, name]) => [key, checkbox(name)]));
  const digest = h("select", { name: "digest" }, h("option", { value: "off" }, "Off"),
    h("option", { value: "hourly" }, "Hourly"), h("option", { value: "daily" }, "Daily"));
  const digestAt = h("input", { type: "time", name: "digestAt" });
  const phone = h("input", { type: "tel", name: "phone", autocomplete: "tel",
    placeholder: "+15551234567" });
  const error = h("p", { class: "error", role: "alert" });

  const show = (p) => {
    for (const [key] of CATEGORIES) {
      for (const [channel] of CHANNELS) boxes.get(`${key}.${channel}`).checked = p.categories[key][channel];
    }
    zone.value = p.timezone;
    quiet.checked = p.quietHours.enabled;
    start.value = p.quietHours.start;
    end.value = p.quietHours.end;
    for (const [key, box] of days) box.checked = p.quietHours.days.includes(key);
    digest.value = p.digest.frequency;
    digestAt.value = p.digest.at;
  };
  api("GET", "/api/notifications/preferences").then(show, (e) => (error.textContent = e.message));
  api("GET", "/api/me").then((me) => (phone.value = me.phone ?? ""), () => {});

  return h("form", { class: "card", "aria-labelledby": "prefs-h", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    const categories = {};
    for (const [key] of CATEGORIES) {
      categories[key] = Object.fromEntries(CHANNELS.map(([channel]) =>
        [channel, boxes.get(`${key}.${channel}`).checked]));
    }
    try {
      await api("PATCH", "/api/me", { phone: phone.value.trim() || null });
      show(await api("PATCH", "/api/notifications/preferences", {
        timezone: zone.value.trim(),
        categories,
        quietHours: { enabled: quiet.checked, start: start.value, end: end.value,
          days: [...days].filter(([, box]) => box.checked).map(([key]) => key) },
        digest: { frequency: digest.value, at: digestAt.value },
      }));
      announce("Your preferences are saved.");
    } catch (e) {
      error.textContent = e.message;
    }
  } },
    h("h2", { id: "prefs-h" }, "Your preferences"),
    h("table", { "aria-label": "Channels by category" },
      h("thead", {}, h("tr", {}, h("th", {}, "Category"),
        ...CHANNELS.map(([, how]) => h("th", { scope: "col" }, how)))),
      h("tbody", {}, rows)),
    ...field("Your mobile number (for SMS)", phone),
    ...field("Your time zone", zone),
    zones,
    h("p", {}, quiet, h("label", { for: quiet.id, class: "inline" }, "Quiet hours on")),
    ...field("Quiet from", start),
    ...field("Quiet until", end),
    h("fieldset", {}, h("legend", {}, "On these nights"),
      ...[...days].map(([, box]) => h("span", {}, box,
        h("label", { for: box.id, class: "inline" }, box.getAttribute("aria-label"))))),
    ...field("Digest of low-priority emails", digest),
    ...field("Daily digest at", digestAt),
    error,
    h("button", { type: "submit" }, "Save preferences"));
}
