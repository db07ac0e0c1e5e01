/// <reference lib="dom" />
// @ts-check
// The API over sequences of objects (images, distributions, texts): a
// function per request the explorers and the run page make. Objects' bytes
// come many at a time in one packed answer (POST /api/objects/batch) and
// are shown through blob: URLs, kept while the page lives.

import { api, ApiError } from "./api.js";
import { url } from "./urls.js";

/** @import { Context, Run } from "./api_types.js" */

/** @typedef {"images" | "distributions" | "texts"} SequenceKind */

/**
 * What an object's row says of it, with where it is. Images: `format`,
 * `width`, `height`, `bytes`, `caption`; distributions: `bins`, `low`,
 * `high`, `total`; texts: `length`, `caption`, and `text` (or `excerpt` in
 * a tail).
 * @typedef {{ id: number, step?: number, epoch?: number | null,
 *   caption?: string, width?: number, height?: number, text?: string,
 *   excerpt?: string } & Record<string, unknown>} StoredObject
 */

/**
 * A sequence's summary, as runs and searches list it.
 * @typedef {object} SequenceSummary
 * @property {SequenceKind} kind
 * @property {string} name
 * @property {Context} context
 * @property {number} count  Points (a list tracked at once is one point).
 * @property {number} items  Objects.
 * @property {number | null} first_step
 * @property {number | null} last_step
 */

/**
 * The objects of a sequence's last step, kept in the index.
 * @typedef {{ step: number, epoch: number | null, time: number,
 *   objects: StoredObject[] }} Tail
 */

/**
 * One (run, sequence) match of a sequence search.
 * @typedef {object} SequenceMatch
 * @property {Run} run
 * @property {SequenceSummary} sequence
 * @property {Tail | null} tail
 */

/**
 * @typedef {object} SequencePage
 * @property {SequenceKind} kind
 * @property {SequenceMatch[]} sequences
 * @property {number} total
 * @property {{ hash: string, reason: string }[]} unreadable
 */

/**
 * POST /api/sequences/search: a page of (run, sequence) matches, each with
 * its last step's objects (from the index: no run file is opened).
 * @param {{ kind: SequenceKind, q: string, limit?: number, offset?: number,
 *   signal?: AbortSignal }} search
 * @returns {Promise<SequencePage>}
 */
export async function searchSequences(
  { kind, q, limit, offset, signal },
) {
  return /** @type {SequencePage} */ (
    await api("api/sequences/search", {
      body: { kind, q, limit, offset },
      signal,
    })
  );
}

/**
 * A sequence as the step requests name it.
 * @typedef {{ run: string, name: string, context: Context }} SequenceRef
 */

/**
 * POST /api/sequences/at: each sequence's objects at `step`, or at the
 * nearest step it has (`step` of each answer says which; null: none).
 * @param {SequenceKind} kind
 * @param {SequenceRef[]} sequences
 * @param {number} step
 * @param {AbortSignal} [signal]
 * @returns {Promise<(SequenceRef & { step: number | null,
 *   objects: StoredObject[], error: string | null })[]>}
 */
export async function objectsAt(kind, sequences, step, signal) {
  const answer = /** @type {{ at: (SequenceRef & { step: number | null,
     *   objects: StoredObject[], error: string | null })[] }} */
    (
      await api("api/sequences/at", { body: { kind, sequences, step }, signal })
    );
  return answer.at;
}

/** Most objects asked for in one packed answer (the server takes 2,000). */
export const BATCH = 500;

/**
 * Splits a packed answer of objects' bytes: a little-endian uint32, that
 * many bytes of JSON header, then the bytes at the header's offsets.
 * Returns "run/id" → the bytes and their type, or why the object is missing.
 * @param {ArrayBuffer} buffer
 * @returns {Map<string, { type: string, bytes: Uint8Array<ArrayBuffer> } | string>}
 */
export function unpackObjects(buffer) {
  const length = new DataView(buffer).getUint32(0, true);
  const header = /** @type {{ objects: { run: string, id: number,
     *   type?: string, offset?: number, length?: number, error?: string }[] }} */
    (
      JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)))
    );
  const start = 4 + length;
  /** @type {Map<string, { type: string, bytes: Uint8Array<ArrayBuffer> } | string>} */
  const out = new Map();
  for (const item of header.objects) {
    const key = `${item.run}/${item.id}`;
    if (item.error !== undefined || item.offset === undefined) {
      out.set(key, item.error ?? "not answered");
    } else {
      out.set(key, {
        type: item.type ?? "application/octet-stream",
        bytes: new Uint8Array(buffer, start + item.offset, item.length ?? 0),
      });
    }
  }
  return out;
}

/**
 * Objects' bytes as blob: URLs an `<img>` shows, fetched at most
 * {@link BATCH} per request and kept (an object never changes) until
 * {@link ObjectUrls.revoke}.
 */
export class ObjectUrls {
  /** @type {Map<string, string>} "run/id[/t]" → blob: URL. */
  #urls = new Map();
  /** @type {Map<string, Promise<void>>} Requests in flight, by key. */
  #pending = new Map();

  /**
   * The URL of an object already fetched, else undefined.
   * @param {string} run
   * @param {number} id
   * @param {boolean} thumb
   */
  get(run, id, thumb) {
    return this.#urls.get(`${run}/${id}${thumb ? "/t" : ""}`);
  }

  /**
   * Fetches the objects not yet fetched (thumbnails when `thumb`); resolves
   * when each has a URL or failed (a failure leaves it without one).
   * @param {{ run: string, id: number }[]} objects
   * @param {boolean} thumb
   * @param {AbortSignal} [signal]
   * @returns {Promise<void>}
   */
  async fetch(objects, thumb, signal) {
    const suffix = thumb ? "/t" : "";
    /** @type {Promise<void>[]} */
    const waits = [];
    /** @type {{ run: string, id: number }[]} */
    const wanted = [];
    const seen = new Set();
    for (const o of objects) {
      const key = `${o.run}/${o.id}${suffix}`;
      if (this.#urls.has(key) || seen.has(key)) continue;
      seen.add(key);
      const pending = this.#pending.get(key);
      if (pending) waits.push(pending);
      else wanted.push(o);
    }
    for (let i = 0; i < wanted.length; i += BATCH) {
      const part = wanted.slice(i, i + BATCH);
      const request = this.#batch(part, thumb, signal).finally(() => {
        for (const o of part) this.#pending.delete(`${o.run}/${o.id}${suffix}`);
      });
      for (const o of part) {
        this.#pending.set(`${o.run}/${o.id}${suffix}`, request);
      }
      waits.push(request);
    }
    await Promise.all(waits);
  }

  /**
   * @param {{ run: string, id: number }[]} objects
   * @param {boolean} thumb
   * @param {AbortSignal} [signal]
   */
  async #batch(objects, thumb, signal) {
    const response = await fetch(url("api/objects/batch"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ objects, thumb }),
      signal: signal ?? null,
    });
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        // Not JSON: the status says enough.
      }
      throw new ApiError(response.status, body);
    }
    const found = unpackObjects(await response.arrayBuffer());
    for (const [key, value] of found) {
      if (typeof value === "string") continue;
      this.#urls.set(
        `${key}${thumb ? "/t" : ""}`,
        URL.createObjectURL(new Blob([value.bytes], { type: value.type })),
      );
    }
  }

  /** Releases every URL. */
  revoke() {
    for (const u of this.#urls.values()) URL.revokeObjectURL(u);
    this.#urls.clear();
  }
}

/**
 * The address of one object's bytes (its thumbnail when `thumb`), cached
 * by the browser for good.
 * @param {string} run
 * @param {number} id
 * @param {boolean} [thumb]
 */
export function objectUrl(run, id, thumb = false) {
  return url(`api/runs/${run}/objects/${id}${thumb ? "?thumb=1" : ""}`);
}

/**
 * @typedef {object} SequenceObjects
 * @property {number} total  Objects in the range (and matching the search).
 * @property {number[]} steps  Every step of the sequence.
 * @property {StoredObject[]} objects  The page asked for.
 */

/**
 * GET /api/runs/:hash/sequences/:kind: a sequence's objects in a step
 * range, a page at a time; texts may be searched (case-insensitive).
 * @param {string} hash
 * @param {SequenceKind} kind
 * @param {string} name
 * @param {Context} context
 * @param {{ from?: number, to?: number, limit?: number, offset?: number,
 *   search?: string }} [options]
 * @param {AbortSignal} [signal]
 * @returns {Promise<SequenceObjects>}
 */
export async function readSequence(
  hash,
  kind,
  name,
  context,
  options = {},
  signal,
) {
  const search = new URLSearchParams({
    name,
    context: JSON.stringify(context),
  });
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && value !== "") search.set(key, String(value));
  }
  return /** @type {SequenceObjects} */ (
    await api(`api/runs/${hash}/sequences/${kind}?${search}`, { signal })
  );
}

/**
 * A distribution sequence as a matrix: `counts[row][bin]` over the common
 * range `low`..`high`, a row per step (or per group of steps when there
 * are more than asked).
 * @typedef {object} DistributionMatrix
 * @property {number} total  Steps tracked.
 * @property {number[]} steps  Each row's step.
 * @property {(number | null)[]} epochs
 * @property {number[]} lows  Each row's own range.
 * @property {number[]} highs
 * @property {number} low
 * @property {number} high
 * @property {number} bins
 * @property {number[][]} counts
 */

/**
 * GET /api/runs/:hash/distributions: at most `rows` rows of `bins` bins.
 * @param {string} hash
 * @param {string} name
 * @param {Context} context
 * @param {{ rows?: number, bins?: number }} [options]
 * @param {AbortSignal} [signal]
 * @returns {Promise<DistributionMatrix>}
 */
export async function readDistribution(
  hash,
  name,
  context,
  options = {},
  signal,
) {
  const search = new URLSearchParams({
    name,
    context: JSON.stringify(context),
  });
  if (options.rows !== undefined) search.set("rows", String(options.rows));
  if (options.bins !== undefined) search.set("bins", String(options.bins));
  return /** @type {DistributionMatrix} */ (
    await api(`api/runs/${hash}/distributions?${search}`, { signal })
  );
}
