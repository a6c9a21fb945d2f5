// What the running system is doing (Dashboard): the throughput chart (sends, deliveries and
// socket events per second over the last 15 minutes, drawn as SVG with its figures in words
// for screen readers) and the rooms with their connection counts. Both refresh by themselves.

import { api } from "/console/session.js";
import { h } from "/console/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 160;
const SERIES = [
  ["sends", "sends/s"],
  ["deliveries", "deliveries/s"],
  ["socketEvents", "socket events/s"],
];

function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

const perSecond = (point, key) => (point.seconds > 0 ? point[key] / point.seconds : 0);
const rate = (value) => (value >= 10 ? value.toFixed(0) : value.toFixed(1));
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `every(load)` runs `load` now and every few seconds while the page is shown. */
export function throughputSection(every, query) {
  const caption = h("figcaption", { id: "throughput-caption" }, "Loading…");
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
    "aria-labelledby": "throughput-h throughput-caption", class: "chart" });
  const error = h("p", { class: "error", role: "alert" });
  const draw = ({ points }) => {
    // The step still running is drawn only while there is little else: a short step's rate
    // jumps about.
    const steps = points.length > 2 ? points.slice(0, -1) : points;
    const rates = SERIES.map(([key]) => steps.map((p) => perSecond(p, key)));
    const top = Math.max(1, ...rates.flat());
    const x = (i) => (steps.length > 1 ? (i / (steps.length - 1)) * WIDTH : WIDTH);
    const y = (v) => HEIGHT - 4 - (v / top) * (HEIGHT - 8);
    chart.replaceChildren(
      svg("line", { x1: 0, y1: HEIGHT - 4, x2: WIDTH, y2: HEIGHT - 4, class: "axis" }),
      svg("text", { x: 4, y: 14, class: "scale" }, `${rate(top)}/s`),
      ...rates.map((values, s) => svg("polyline", {
        class: `series series-${s}`,
        points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
      })),
      // The newest value of each, visible even before there is a line to draw.
      ...rates.map((values, s) => svg("circle", {
        class: `series series-${s}`, r: 3,
        cx: x(values.length - 1).toFixed(1), cy: y(values[values.length - 1] ?? 0).toFixed(1),
      })));
    const latest = points[points.length - 1];
    const last = steps[steps.length - 1] ?? latest;
    const now = SERIES.map(([key, unit]) => `${rate(perSecond(last, key))} ${unit}`).join(", ");
    const peaks = SERIES.map(([, unit], s) => `${rate(Math.max(0, ...rates[s]))} ${unit}`).join(", ");
    const totals = SERIES.map(([key]) => points.reduce((n, p) => n + p[key], 0));
    caption.textContent = totals.every((n) => n === 0)
      ? "Nothing sent, delivered or pushed to sockets in the last 15 minutes."
      : `Last step: ${now}. Peak: ${peaks}. In all: ${plural(totals[0], "send")}, ` +
        `${plural(totals[1], "delivery", "deliveries")}, ${plural(totals[2], "socket event")}.`;
  };
  every(() => api("GET", `/api/admin/throughput${query}`).then(draw, (e) => (error.textContent = e.message)));
  return h("section", { class: "card", "aria-labelledby": "throughput-h" },
    h("h2", { id: "throughput-h" }, "Throughput, last 15 minutes"),
    h("figure", {}, chart, h("ul", { class: "legend" },
      ...SERIES.map(([, unit], s) => h("li", { class: `series-${s}` }, unit))), caption),
    error);
}

export function roomsSection(every, query) {
  const tbody = h("tbody");
  const summary = h("p", { "aria-live": "polite" });
  const error = h("p", { class: "error", role: "alert" });
  every(() => api("GET", `/api/admin/rooms${query}`).then(({ rooms, memberships }) => {
    summary.textContent = `${rooms.length} ${rooms.length === 1 ? "room" : "rooms"}, ` +
      `${memberships} ${memberships === 1 ? "connection" : "connections"}.`;
    tbody.replaceChildren(...rooms.slice(0, 50).map((room) => h("tr", {},
      h("td", {}, room.name),
      h("td", { class: "num" }, String(room.sockets)),
      h("td", {}, room.active ? "active" : "dormant"),
      h("td", { class: "num" }, `${room.idleSeconds} s`))));
  }, (e) => (error.textContent = e.message)));
  return h("section", { class: "card", "aria-labelledby": "rooms-h" },
    h("h2", { id: "rooms-h" }, "Rooms"),
    summary,
    h("table", { "aria-labelledby": "rooms-h" },
      h("thead", {}, h("tr", {}, ...["Room", "Connections", "State", "Since last event"]
        .map((t) => h("th", {}, t)))),
      tbody),
    error);
}
