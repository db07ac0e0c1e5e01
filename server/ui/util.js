// Small helpers shared by the pages: URLs under the app's root, DOM
// building, formatting, colours and parameter paths.

/**
 * The app's root as the browser sees it (absolute URL ending in "/"), fixed
 * at start-up from the page's <base href>, which the server fills in
 * relative to the page: it survives --base-path and a proxy's prefix.
 */
export const ROOT = new URL(".", document.baseURI).href;

/** An absolute URL for `path` (relative, no leading slash) under the root. */
export function url(path) {
  return new URL(path, ROOT).href;
}

/** The path of the current page relative to the root, without leading slash. */
export function currentRoute() {
  const root = new URL(ROOT).pathname;
  const path = location.pathname;
  return path.startsWith(root) ? path.slice(root.length) : path.slice(1);
}

/**
 * Builds an element: `h("div.cls#id", {attrs}, ...children)`. Attributes
 * `on*` with a function become listeners, `dataset` an object of data-*,
 * `text` the text content; children may be strings, nodes, or arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const node = document.createElement(name || "div");
  for (const part of rest) {
    if (part.startsWith(".")) node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "text") {
      node.textContent = String(value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "style" && typeof value === "object") {
      Object.assign(node.style, value);
    } else if (key in node && typeof value !== "string") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

/** Replaces the children of `node`; children as for {@link h} (arrays flattened, null skipped). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** A link to a page of the app (handled by the router without reloading). */
export function link(path, ...children) {
  return h("a", { href: url(path), "data-nav": true }, ...children);
}

/** Numbers as the API sends them: non-finite values arrive as strings. */
export function num(value) {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return null;
}

/** A number for a table cell: short, with significant digits kept. */
export function fmtNum(value) {
  const n = num(value);
  if (n === null) {
    return value === null || value === undefined ? "" : String(value);
  }
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e15) {
    return n.toLocaleString("en-US");
  }
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return n.toExponential(3);
  return String(Number(n.toPrecision(5)));
}

/** Any parameter value for display. */
export function fmtValue(value) {
  if (value === null || value === undefined) {
    return value === null ? "None" : "";
  }
  if (
    typeof value === "number" ||
    ["NaN", "Infinity", "-Infinity"].includes(value)
  ) {
    return fmtNum(value);
  }
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Seconds as "1h 02m", "3m 05s", "12.3s". */
export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return "";
  }
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** An ISO time as local "2026-11-25 20:55:38". */
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${
    p(d.getHours())
  }:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Seconds since the epoch of an ISO time. */
export function epochSeconds(iso) {
  return iso ? Date.parse(iso) / 1000 : null;
}

/** A context object as short text: `subset=train, gpu=0`, or `{}` for none. */
export function fmtContext(context) {
  const entries = Object.entries(context ?? {});
  if (entries.length === 0) return "{}";
  return entries.map(([k, v]) =>
    `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`
  )
    .join(", ");
}

/** JSON with sorted keys: equal contexts give equal text. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${
      Object.keys(value).sort().map((k) =>
        `${JSON.stringify(k)}:${canonical(value[k])}`
      )
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** Every leaf of nested params as [path (array of keys), value]. */
export function leaves(params, prefix = [], out = []) {
  for (const [key, value] of Object.entries(params ?? {})) {
    const path = [...prefix, key];
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      leaves(value, path, out);
    } else {
      out.push([path, value]);
    }
  }
  return out;
}

/** The value at a param path, or undefined. */
export function at(params, path) {
  let value = params;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !(key in value)) {
      return undefined;
    }
    value = value[key];
  }
  return value;
}

/** A param path in the query language: `run["hparams"]["lr"]`. */
export function paramExpr(path) {
  return `run${path.map((k) => `[${JSON.stringify(k)}]`).join("")}`;
}

/** A metric summary in the query language: `run.metrics["loss", {"subset": "train"}]`. */
export function metricExpr(name, context) {
  const ctx = Object.keys(context ?? {}).length === 0
    ? ""
    : `, ${JSON.stringify(context)}`;
  return `run.metrics[${JSON.stringify(name)}${ctx}]`;
}

/** A categorical palette with enough contrast on white (Tableau 20, reordered). */
export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#ad494a",
  "#637939",
  "#8ca252",
  "#843c39",
  "#7b4173",
  "#3182bd",
  "#e6550d",
  "#31a354",
  "#756bb1",
];

/** `#rrggbb` with an alpha, as rgba(). */
export function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16 & 255}, ${n >> 8 & 255}, ${n & 255}, ${a})`;
}

/** A function that runs `fn` at most once per `ms`, the last call winning. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Shows a short message at the bottom of the page. */
export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = h(`div.toast.${kind}`, {
    text,
    role: kind === "error" ? "alert" : "status",
  });
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/**
 * A repeating timer that skips ticks while the tab is hidden and never
 * overlaps: the next tick is scheduled after `fn` settles.
 */
export function every(ms, fn) {
  let stopped = false;
  let timer = null;
  const schedule = () => {
    if (!stopped) {
      timer = setTimeout(tick, typeof ms === "function" ? ms() : ms);
    }
  };
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
      } catch (error) {
        if (error?.name !== "AbortError") {
          toast(error.message ?? String(error), "error");
        }
      }
    }
    schedule();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Runs `tasks` (functions returning promises) with at most `limit` at once. */
export async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  const workers = Array.from(
    { length: Math.min(limit, tasks.length) },
    async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    },
  );
  await Promise.all(workers);
  return results;
}

/** State badges of a run: its status, and live / stalled / unindexed. */
export function badges(run) {
  const out = [h(`span.badge.status-${run.status}`, { text: run.status })];
  if (run.live) {
    out.push(
      h("span.badge.flag-live", {
        text: "live",
        title: "its writer is running",
      }),
    );
  } else if (!run.indexed && run.status === "crashed") {
    out.push(h("span.badge.flag-stalled", {
      text: "stalled",
      title: "its writer vanished; the indexer will record it crashed",
    }));
  }
  if (!run.indexed) {
    out.push(h("span.badge.flag-unindexed", {
      text: "unindexed",
      title:
        "read from its own files: the index does not cover its latest data yet",
    }));
  }
  if (run.archived) {
    out.push(h("span.badge.flag-archived", { text: "archived" }));
  }
  return out;
}
