/**
 * Reading request bodies with a cap, whatever `Content-Length` claims: a
 * larger body is refused as it arrives, never held.
 *
 * @module
 */

import type { Context as HonoContext } from "hono";
import { AimError } from "../lib/mod.ts";
import { badRequest } from "../lib/errors.ts";

/**
 * The request's body as bytes, at most `limit` of them; `AimError`
 * `too_large` beyond, naming the limit.
 */
export async function readBodyBytes(
  c: HonoContext,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () =>
    new AimError(
      "too_large",
      `The request body is over the limit of ${limit} bytes`,
    );
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = c.req.raw.body?.getReader();
  while (reader !== undefined) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (
    chunks.length === 1 && chunks[0]!.byteOffset === 0 &&
    chunks[0]!.buffer.byteLength === size &&
    chunks[0]!.buffer instanceof ArrayBuffer
  ) {
    return chunks[0] as Uint8Array<ArrayBuffer>;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/**
 * The request's body parsed as a JSON object, read with a cap of `limit`
 * bytes as {@linkcode readBodyBytes} does; `bad_request` for anything but
 * an object.
 */
export async function readJsonObject(
  c: HonoContext,
  limit: number,
): Promise<Record<string, unknown>> {
  const bytes = await readBodyBytes(c, limit);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badRequest("The request body must be a JSON object");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest("The request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
