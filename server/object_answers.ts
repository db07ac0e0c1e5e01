/**
 * The query Workers' answers about sequences of objects: searches with
 * their last steps and thumbnails, one sequence's objects, one object's
 * bytes, many objects' bytes packed in one binary answer, a step across
 * sequences, a distribution matrix (docs/ARCHITECTURE.md, "Objects").
 *
 * @module
 */

import {
  AimError,
  type Context,
  readDistributionMatrix,
  readObject,
  readObjectBytes,
  readObjectsAtStep,
  readSequence,
  type Repo,
  runToJson,
  type SearchOptions,
  searchSequences,
  validateHash,
} from "../lib/mod.ts";
import { readTailsOf, tailKey } from "../lib/repo/mod.ts";
import { badRequest } from "../lib/errors.ts";
import type { QueryRequest } from "./messages.ts";
import { toJson } from "./wire.ts";

/** The media type of a packed answer of objects' bytes (see {@linkcode packObjects}). */
export const OBJECTS_BINARY_TYPE = "application/vnd.aim.objects";

/** Most objects one packed answer may ask for. */
export const MAX_BATCH = 2000;
/** Most bytes of objects one packed answer holds; the rest are answered `"error"`. */
export const MAX_BATCH_BYTES = 64 << 20;

/** A page of (run, sequence) matches with their last steps, and thumbnails when asked. */
export function answerSequences(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "sequences" }>,
  paging: SearchOptions,
  check?: () => void,
): string {
  const page = searchSequences(repo, request.q, {
    ...paging,
    ...(request.sequence !== undefined ? { kind: request.sequence } : {}),
  });
  const tails = readTailsOf(repo, page.kind, page.matches, check);
  const now = Date.now() / 1000;
  return toJson({
    kind: page.kind,
    sequences: page.matches.map(({ run, sequence }) => {
      const found = tails.get(
        tailKey(run.record.hash, page.kind, sequence.name, sequence.context),
      );
      return {
        run: runToJson(run, now),
        sequence,
        tail: found?.tail ?? null,
        thumb: request.thumbs && found?.thumb ? dataUrl(found.thumb) : null,
      };
    }),
    total: page.total,
    unreadable: page.unreadable,
  });
}

/** One sequence's objects in a step range. */
export function answerSequence(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "sequence" }>,
): string {
  validateHash(request.hash);
  return toJson(
    readSequence(
      repo,
      request.hash,
      request.sequence,
      request.name,
      request.context as Context,
      {
        ...(request.from !== undefined ? { from: request.from } : {}),
        ...(request.to !== undefined ? { to: request.to } : {}),
        ...(request.limit !== undefined ? { limit: request.limit } : {}),
        ...(request.offset !== undefined ? { offset: request.offset } : {}),
        ...(request.search !== undefined ? { search: request.search } : {}),
      },
    ),
  );
}

/** One object's bytes (a copy the Worker can hand over). */
export function answerObject(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "object" }>,
): Uint8Array {
  validateHash(request.hash);
  return readObject(repo, request.hash, request.id, request.thumb).slice();
}

/**
 * Many objects' bytes in one answer: a little-endian uint32 giving the
 * length of a JSON header, the header `{"objects": [{"run", "id", "type",
 * "offset", "length"} | {"run", "id", "error"}]}` in the order asked, then
 * the bytes, each at its offset from the end of the header.
 */
export function answerObjects(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "objects" }>,
  check?: () => void,
): Uint8Array {
  const byRun = new Map<string, number[]>();
  for (const { run, id } of request.objects) {
    validateHash(run);
    const ids = byRun.get(run) ?? [];
    ids.push(id);
    byRun.set(run, ids);
  }
  const found = new Map<string, Uint8Array | string>();
  for (const [run, ids] of byRun) {
    check?.();
    try {
      const bytes = readObjectBytes(repo, run, ids, request.thumb);
      for (const id of ids) {
        found.set(
          `${run}/${id}`,
          bytes.get(id) ?? `Run ${run} has no object ${id}`,
        );
      }
    } catch (error) {
      if (!(error instanceof AimError)) throw error;
      for (const id of ids) found.set(`${run}/${id}`, error.message);
    }
  }
  return packObjects(request.objects, found);
}

/** Packs objects' bytes (or why each is missing) in the order asked: see {@linkcode answerObjects}. */
export function packObjects(
  asked: readonly { run: string; id: number }[],
  found: ReadonlyMap<string, Uint8Array | string>,
): Uint8Array {
  const header: Record<string, unknown>[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const { run, id } of asked) {
    const bytes = found.get(`${run}/${id}`);
    if (bytes === undefined || typeof bytes === "string") {
      header.push({ run, id, error: bytes ?? "not read" });
    } else if (offset + bytes.length > MAX_BATCH_BYTES) {
      header.push({
        run,
        id,
        error:
          `the answer is full (${MAX_BATCH_BYTES} bytes): ask again for the rest`,
      });
    } else {
      header.push({
        run,
        id,
        type: mediaType(bytes),
        offset,
        length: bytes.length,
      });
      parts.push(bytes);
      offset += bytes.length;
    }
  }
  const json = new TextEncoder().encode(JSON.stringify({ objects: header }));
  const out = new Uint8Array(4 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let at = 4 + json.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** For each sequence, its objects at a step (or the nearest it has). */
export function answerObjectsAt(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "objects_at" }>,
  check?: () => void,
): string {
  for (const ref of request.sequences) validateHash(ref.run);
  return toJson({
    kind: request.sequence,
    step: request.step,
    at: readObjectsAtStep(
      repo,
      request.sequence,
      request.sequences,
      request.step,
      check,
    ),
  });
}

/** A distribution sequence as a matrix of steps × bins. */
export function answerDistribution(
  repo: Repo,
  request: Extract<QueryRequest, { kind: "distribution" }>,
): string {
  validateHash(request.hash);
  return toJson(
    readDistributionMatrix(
      repo,
      request.hash,
      request.name,
      request.context as Context,
      {
        ...(request.from !== undefined ? { from: request.from } : {}),
        ...(request.to !== undefined ? { to: request.to } : {}),
        ...(request.rows !== undefined ? { rows: request.rows } : {}),
        ...(request.bins !== undefined ? { bins: request.bins } : {}),
      },
    ),
  );
}

/** The media type of stored bytes: PNG and JPEG by their signature, else binary. */
export function mediaType(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e) {
    return "image/png";
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  return "application/octet-stream";
}

/** Bytes as a `data:` URL an `<img>` shows. */
export function dataUrl(bytes: Uint8Array): string {
  const base64 = (bytes as unknown as { toBase64(): string }).toBase64();
  return `data:${mediaType(bytes)};base64,${base64}`;
}

/** Checks a batch request's list: at most {@linkcode MAX_BATCH} `{run, id}`. */
export function checkObjectList(value: unknown): { run: string; id: number }[] {
  if (!Array.isArray(value) || value.length > MAX_BATCH) {
    throw badRequest(
      `"objects" must be a list of at most ${MAX_BATCH} {"run", "id"}`,
    );
  }
  return value.map((item, i) => {
    if (
      item === null || typeof item !== "object" ||
      typeof item.run !== "string" || !Number.isSafeInteger(item.id) ||
      item.id < 1
    ) {
      throw badRequest(
        `"objects" item ${i} must be {"run": hash, "id": positive integer}, got ${
          JSON.stringify(item)?.slice(0, 100)
        }`,
      );
    }
    return { run: validateHash(item.run), id: item.id as number };
  });
}
