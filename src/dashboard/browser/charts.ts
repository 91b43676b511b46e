/** Tiny SVG line charts of the last minutes (served as charts.js). */
export const source = String.raw`
const SVG = "http://www.w3.org/2000/svg";
/** What a chart shows: the last 5 minutes. */
const WINDOW_MS = 5 * 60 * 1000;
/** Until the page has watched this long, a chart spans what it has seen (and at least this), not an empty 5 minutes. */
const MIN_SPAN_MS = 20 * 1000;
const WIDTH = 300;
const HEIGHT = 60;

/** A series of samples drawn into an <svg viewBox="0 0 300 60">, its current value written beside it. */
export class Sparkline {
  constructor(svg, label, unit) {
    this.svg = svg;
    this.label = label;
    this.unit = unit;
    this.samples = [];
  }

  add(at, value) {
    this.samples.push({ at: at, value: value });
    while (this.samples.length && this.samples[0].at < at - WINDOW_MS) this.samples.shift();
    this.draw(at);
  }

  /** Starts the series again (it now measures something else). */
  clear() {
    this.samples = [];
    this.svg.replaceChildren();
    this.label.textContent = "";
  }

  draw(now) {
    const max = Math.max(0, ...this.samples.map((s) => s.value));
    // A flat series of zeros sits on the bottom line instead of filling the chart.
    const scale = Math.max(max, 1);
    const span = Math.min(WINDOW_MS, Math.max(MIN_SPAN_MS, now - this.samples[0].at));
    const x = (at) => ((at - (now - span)) / span) * WIDTH;
    const y = (v) => HEIGHT - 2 - (v / scale) * (HEIGHT - 6);
    const points = this.samples.map((s) => x(s.at).toFixed(1) + "," + y(s.value).toFixed(1)).join(" ");
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points);
    line.setAttribute("vector-effect", "non-scaling-stroke");
    this.svg.replaceChildren(line);
    // The numbers go beside the chart, not in it: the chart stretches to its box, text in it would too.
    const last = this.samples[this.samples.length - 1];
    this.label.textContent = last ? round(last.value) + " " + this.unit + " (max " + round(max) + ")" : "";
  }
}

function round(v) {
  return v >= 100 ? Math.round(v).toString() : v.toFixed(1);
}
`;
