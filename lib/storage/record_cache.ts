/**
 * What was read from runs that do not change: a stalled run keeps its
 * record until its files change, so a search over a thousand unindexed
 * runs reads their files once, not on every request. Bounded in size; the
 * least recently used records go first.
 *
 * @module
 */

import type { RunRecord } from "../types.ts";

/** Counts of {@linkcode RecordCache}, for health reports and tests. */
export interface RecordCacheStats {
  /** Records kept. */
  entries: number;
  /** Their estimated size in bytes. */
  bytes: number;
  /** Loads answered from the cache. */
  hits: number;
  /** Loads that had to read the run's file. */
  misses: number;
}

interface _Entry {
  signature: string;
  record: RunRecord;
  bytes: number;
}

/** Records of runs, each valid while its files' signature is the same. */
export class RecordCache {
  readonly #limitBytes: number;
  #entries = new Map<string, _Entry>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  /** A cache of at most `limitBytes` (estimated) of records. */
  constructor(limitBytes = 64 << 20) {
    this.#limitBytes = limitBytes;
  }

  /** The record of `hash` read when its files had `signature`, or undefined. */
  get(hash: string, signature: string): RunRecord | undefined {
    const entry = this.#entries.get(hash);
    if (entry === undefined || entry.signature !== signature) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    // Most recently used last: Map keeps insertion order.
    this.#entries.delete(hash);
    this.#entries.set(hash, entry);
    return entry.record;
  }

  /** Keeps `record` for `hash` while its files have `signature`. */
  set(hash: string, signature: string, record: RunRecord): void {
    this.delete(hash);
    const bytes = _estimate(record);
    if (bytes > this.#limitBytes) return;
    this.#entries.set(hash, { signature, record, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#limitBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  /** Forgets `hash`. */
  delete(hash: string): void {
    const entry = this.#entries.get(hash);
    if (entry === undefined) return;
    this.#entries.delete(hash);
    this.#bytes -= entry.bytes;
  }

  /** Counts so far. */
  stats(): RecordCacheStats {
    return {
      entries: this.#entries.size,
      bytes: this.#bytes,
      hits: this.#hits,
      misses: this.#misses,
    };
  }
}

/** A record's size in memory, roughly: its params as JSON, plus its series. */
function _estimate(record: RunRecord): number {
  let params = 0;
  try {
    params = JSON.stringify(record.params).length * 2;
  } catch {
    params = 1024;
  }
  return 512 + params + record.tags.join("").length * 2 +
    record.metrics.length * 300;
}
