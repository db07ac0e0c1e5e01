/// <reference lib="dom" />
// @ts-check
// The scatters explorer (/scatters): one point per run matching the query,
// x and y from any two fields, coloured and grouped by a third, with a
// least-squares trend line per group. Hover names the run, a click opens
// it. Everything it shows lives in the URL: q, x, y, color, logx, logy.

import { errorText, h, toast } from "./dom.js";
import { fmtValue } from "./format.js";
import { viewsBar } from "./views.js";
import {
  axisTicks,
  buildAxis,
  colouring,
  OTHER,
  position,
  SPECIAL_SHARE,
  toCsv,
} from "./explore_axes.js";
import {
  download,
  fetchFieldsShowing,
  fieldPicker,
  fieldsOffered,
  shortLabel,
  showColourLegend,
  sizeCanvas,
} from "./explore_common.js";

/** @import { Axis, Colouring } from "./explore_axes.js" */
/** @import { FieldTable } from "./explore_common.js" */

const PAD = { left: 70, right: 20, top: 16, bottom: 44 };
const HEIGHT = 460;

/**
 * @typedef {object} ScatterState
 * @property {string} q
 * @property {string} x
 * @property {string} y
 * @property {string} color  A field, or "".
 * @property {boolean} logx
 * @property {boolean} logy
 */

/**
 * @param {string} search
 * @returns {ScatterState}
 */
export function readState(search) {
  const params = new URLSearchParams(search);
  return {
    q: params.get("q") ?? "",
    x: params.get("x") ?? "run.created_at",
    y: params.get("y") ?? "run.duration",
    color: params.get("color") ?? "",
    logx: params.get("logx") === "1",
    logy: params.get("logy") === "1",
  };
}

/**
 * @param {ScatterState} state
 * @returns {string}
 */
export function writeState(state) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  params.set("x", state.x);
  params.set("y", state.y);
  if (state.color) params.set("color", state.color);
  if (state.logx) params.set("logx", "1");
  if (state.logy) params.set("logy", "1");
  return `?${params}`;
}

/**
 * The least-squares line through finite (x, y) pairs, or null with fewer
 * than two distinct x.
 * @param {readonly [number, number][]} points
 * @returns {{ slope: number, intercept: number } | null}
 */
export function fitLine(points) {
  const n = points.length;
  if (n < 2) return null;
  let sx = 0, sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n, my = sy / n;
  let sxx = 0, sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

/**
 * @param {HTMLElement} root
 * @param {import("./app.js").PageContext} app
 */
export function mount(root, app) {
  const state = readState(location.search);
  /** @type {FieldTable | null} */
  let table = null;
  /** @type {Axis | null} */
  let xAxis = null;
  /** @type {Axis | null} */
  let yAxis = null;
  /** @type {Colouring | null} */
  let colours = null;
  /** @type {{ hash: string, name: string, px: number, py: number, colour: string, x: unknown, y: unknown }[]} */
  let drawn = [];
  /** @type {AbortController | null} */
  let loading = null;

  const query = h("input.query", {
    value: state.q,
    placeholder: "run query",
    spellcheck: "false",
  });
  const problem = h("div.query-problem", { hidden: true, role: "alert" });
  const xLabel = h("span.axis-choice.x", {});
  const yLabel = h("span.axis-choice.y", {});
  const cLabel = h("span.axis-choice.c", {});
  const xPicker = fieldPicker("Set x", (f) => {
    state.x = f;
    update();
  });
  const yPicker = fieldPicker("Set y", (f) => {
    state.y = f;
    update();
  });
  const cPicker = fieldPicker("Colour by", (f) => {
    state.color = f;
    update();
  });
  const logx = h("input", { type: "checkbox", checked: state.logx });
  const logy = h("input", { type: "checkbox", checked: state.logy });
  logx.addEventListener("change", () => {
    state.logx = logx.checked;
    update();
  });
  logy.addEventListener("change", () => {
    state.logy = logy.checked;
    update();
  });
  const canvas = h("canvas.scatter", { dataset: { points: "0" } });
  const tip = h("div.plot-tip", { hidden: true });
  const legend = h("div.legend");
  const summary = h("div.selection-summary");
  root.append(
    h(
      "section.explorer.scatters-explorer",
      {},
      viewsBar("scatters", app),
      h("div.controls", {}, query, problem),
      h(
        "div.controls",
        {},
        "x: ",
        xLabel,
        xPicker.element,
        h("label", {}, logx, " log x"),
      ),
      h(
        "div.controls",
        {},
        "y: ",
        yLabel,
        yPicker.element,
        h("label", {}, logy, " log y"),
      ),
      h(
        "div.controls",
        {},
        "colour: ",
        cLabel,
        cPicker.element,
        h("button", {
          type: "button",
          text: "No colour",
          onclick: () => {
            state.color = "";
            update();
          },
        }),
        h("button", {
          type: "button",
          text: "Export PNG",
          onclick: () => exportPng(),
        }),
        h("button", {
          type: "button",
          text: "Export CSV",
          onclick: () => exportCsv(),
        }),
      ),
      h("div.plot-box", {}, canvas, tip),
      legend,
      summary,
    ),
  );
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      state.q = query.value;
      update();
    }
  });
  fieldsOffered().then((fields) => {
    for (const picker of [xPicker, yPicker, cPicker]) picker.offer(fields);
  }).catch((error) => toast(errorText(error), "error"));

  function update() {
    const search = writeState(state);
    if (search !== location.search) {
      history.replaceState(null, "", location.pathname + search);
    }
    load();
  }

  async function load() {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    xLabel.textContent = shortLabel(state.x);
    yLabel.textContent = shortLabel(state.y);
    cLabel.textContent = state.color ? shortLabel(state.color) : "none";
    const fields = ["run.name", state.x, state.y];
    if (state.color) fields.push(state.color);
    const read = await fetchFieldsShowing(
      state.q,
      fields,
      problem,
      controller.signal,
    );
    if (read !== undefined) table = read;
    if (controller.signal.aborted) return;
    const rows = table?.rows ?? [];
    xAxis = buildAxis(rows.map((r) => r.values[1]), { log: state.logx });
    yAxis = buildAxis(rows.map((r) => r.values[2]), { log: state.logy });
    colours = state.color ? colouring(rows.map((r) => r.values[3])) : null;
    showLegend();
    draw();
  }

  function showLegend() {
    showColourLegend(legend, colours, state.color);
  }

  function draw() {
    const started = performance.now();
    const width = Math.max(300, canvas.parentElement?.clientWidth ?? 800);
    const ctx = sizeCanvas(canvas, width, HEIGHT);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, HEIGHT);
    const rows = table?.rows ?? [];
    if (xAxis === null || yAxis === null) return;
    const xa = xAxis, ya = yAxis;
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const px = (/** @type {number} */ t) => PAD.left + t * plotW;
    const py = (/** @type {number} */ t) => PAD.top + (1 - t) * plotH;
    // A log axis leaves values ≤ 0 out: they have no place on it.
    const onAxis = (/** @type {Axis} */ axis, /** @type {unknown} */ v) =>
      !(axis.log && typeof v === "number" && Number.isFinite(v) && v <= 0);
    drawn = [];
    let hidden = 0;
    for (const row of rows) {
      const [name, x, y, c] = row.values;
      if (!onAxis(xa, x) || !onAxis(ya, y)) {
        hidden++;
        continue;
      }
      drawn.push({
        hash: row.hash,
        name: String(name || row.hash.slice(0, 8)),
        px: px(position(xa, x)),
        py: py(position(ya, y)),
        colour: colours === null ? "#2f6fde" : colours.colour(c),
        x,
        y,
      });
    }
    // Grid and the special bands (None, NaN, ±inf), labelled.
    ctx.strokeStyle = "#ddd";
    ctx.fillStyle = "#333";
    ctx.font = "11px system-ui, sans-serif";
    drawTicks(ctx, xa, (t) => [px(t), HEIGHT - PAD.bottom], "x");
    drawTicks(ctx, ya, (t) => [PAD.left, py(t)], "y");
    ctx.textAlign = "center";
    ctx.fillText(shortLabel(state.x), PAD.left + plotW / 2, HEIGHT - 6);
    ctx.save();
    ctx.translate(12, PAD.top + plotH / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(shortLabel(state.y), 0, 0);
    ctx.restore();
    /** @type {Map<string, typeof drawn>} */
    const groups = new Map();
    for (const p of drawn) {
      let group = groups.get(p.colour);
      if (!group) groups.set(p.colour, group = []);
      group.push(p);
    }
    ctx.globalAlpha = drawn.length > 2000 ? 0.5 : 0.85;
    for (const [colour, points] of groups) {
      ctx.fillStyle = colour;
      ctx.beginPath();
      for (const p of points) {
        ctx.moveTo(p.px + 3, p.py);
        ctx.arc(p.px, p.py, 3, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    // A trend line per group, fitted where it is drawn (in log space on a log axis).
    let trends = 0;
    if (xa.kind === "numeric" && ya.kind === "numeric") {
      const floorX = xa.special.length ? SPECIAL_SHARE : 0;
      const floorY = ya.special.length ? SPECIAL_SHARE : 0;
      for (const [colour, points] of groups) {
        const finite = points.filter((p) =>
          typeof p.x === "number" && Number.isFinite(p.x) &&
          typeof p.y === "number" && Number.isFinite(p.y)
        ).map((p) => /** @type {[number, number]} */ ([p.px, p.py]));
        const line = fitLine(finite);
        if (line === null) continue;
        trends++;
        const x0 = px(floorX), x1 = px(1);
        ctx.strokeStyle = colour === OTHER ? "#666" : colour;
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        const clampY = (/** @type {number} */ y) =>
          Math.max(PAD.top, Math.min(py(floorY), y));
        ctx.moveTo(x0, clampY(line.slope * x0 + line.intercept));
        ctx.lineTo(x1, clampY(line.slope * x1 + line.intercept));
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.lineWidth = 1;
      }
    }
    canvas.dataset.points = String(drawn.length);
    // The benchmark's mark: the first points are on the canvas.
    if (
      drawn.length > 0 &&
      performance.getEntriesByName("aim:scatter-painted").length === 0
    ) {
      performance.mark("aim:scatter-painted");
    }
    canvas.dataset.trends = String(trends);
    canvas.dataset.drawMs = (performance.now() - started).toFixed(1);
    summary.textContent = `${drawn.length.toLocaleString("en-US")} runs drawn${
      hidden > 0 ? `; ${hidden} left out (≤ 0 on a log axis)` : ""
    }${
      table && table.total > rows.length
        ? `; first ${rows.length} of ${table.total}`
        : ""
    }`;
  }

  /**
   * @param {CanvasRenderingContext2D} ctx
   * @param {Axis} axis
   * @param {(t: number) => [number, number]} at
   * @param {"x" | "y"} dim
   */
  function drawTicks(ctx, axis, at, dim) {
    const ticks = axisTicks(axis, 5, 12);
    const width = Math.max(300, canvas.parentElement?.clientWidth ?? 800);
    for (const [t, label] of ticks) {
      const [x, y] = at(t);
      ctx.beginPath();
      if (dim === "x") {
        ctx.moveTo(x, PAD.top);
        ctx.lineTo(x, y);
      } else {
        ctx.moveTo(x, y);
        ctx.lineTo(width - PAD.right, y);
      }
      ctx.stroke();
      ctx.textAlign = dim === "x" ? "center" : "right";
      ctx.fillText(
        label.slice(0, 14),
        dim === "x" ? x : x - 4,
        dim === "x" ? y + 13 : y + 3,
      );
    }
  }

  /** The drawn point nearest to the pointer, within 8 px. */
  function nearest(/** @type {MouseEvent} */ event) {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    let best = null, bestD = 64;
    for (const p of drawn) {
      const d = (p.px - x) ** 2 + (p.py - y) ** 2;
      if (d <= bestD) {
        best = p;
        bestD = d;
      }
    }
    return best;
  }
  canvas.addEventListener("mousemove", (event) => {
    const p = nearest(event);
    if (p === null) {
      tip.hidden = true;
      canvas.style.cursor = "";
      return;
    }
    canvas.style.cursor = "pointer";
    tip.hidden = false;
    tip.dataset.hash = p.hash;
    tip.replaceChildren(
      h("b", { text: p.name }),
      h("div", { text: `${shortLabel(state.x)}: ${fmtValue(p.x)}` }),
      h("div", { text: `${shortLabel(state.y)}: ${fmtValue(p.y)}` }),
    );
    tip.style.left = `${p.px + 10}px`;
    tip.style.top = `${p.py + 10}px`;
  });
  canvas.addEventListener("mouseleave", () => (tip.hidden = true));
  canvas.addEventListener("click", (event) => {
    const p = nearest(event);
    if (p !== null) app.navigate(`run/${p.hash}`);
  });

  function exportPng() {
    canvas.toBlob((blob) => {
      if (blob) download("scatter.png", blob);
    }, "image/png");
  }

  function exportCsv() {
    download(
      "scatter.csv",
      new Blob([
        toCsv(
          ["run.hash", state.x, state.y, ...(state.color ? [state.color] : [])],
          drawn.map((p) => {
            const row = /** @type {NonNullable<typeof table>} */ (table).rows
              .find((r) => r.hash === p.hash);
            return [p.hash, p.x, p.y, ...(state.color ? [row?.values[3]] : [])];
          }),
        ),
      ], { type: "text/csv" }),
    );
  }

  // For tests and people debugging: what was drawn where (CSS pixels).
  Object.assign(canvas, {
    aimPoints: () => drawn.map(({ hash, px, py }) => ({ hash, px, py })),
  });

  const onResize = () => draw();
  addEventListener("resize", onResize);
  load();
  return () => {
    loading?.abort();
    removeEventListener("resize", onResize);
  };
}
