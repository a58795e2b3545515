/**
 * Sets of float vectors in memory: `count` examples of `width` values, with optional labels — sensor readings,
 * embeddings, tabular rows. Like an image set it gathers batches in a given order, so the trainer treats both
 * alike.
 * @module
 */
import { DatasetError, ReinmaxInputError } from "../errors.ts";
import { describe, requireInteger } from "../validate.ts";
import { checkGatherOut, checkIndex, checkLabels } from "./images.ts";

/**
 * What a {@link VectorSet} is built from.
 *
 * @example
 * ```ts
 * import { VectorSet, type VectorSetOptions } from "@reinmax/reinmax";
 * const options: VectorSetOptions = { name: "xy", count: 3, width: 2, values: Float32Array.of(0, 1, 2, 3, 4, 5) };
 * const set = new VectorSet(options);
 * ```
 */
export interface VectorSetOptions {
  /** Names the set in messages, e.g. `"sensors train"`. */
  readonly name: string;
  /** The number of examples. */
  readonly count: number;
  /** Values per example. */
  readonly width: number;
  /** `count·width` finite values: example after example. */
  readonly values: Float32Array;
  /** One label per example, if the set has labels (a classifier's targets). */
  readonly labels?: Uint8Array;
}

/**
 * A set of `count` float vectors of `width` values. Construction checks the lengths and that every value is
 * finite, and throws a ReinmaxInputError naming the option at fault; the values are kept, not copied.
 *
 * @example
 * ```ts
 * import { VectorSet } from "@reinmax/reinmax";
 * const set = new VectorSet({ name: "pairs", count: 2, width: 3, values: Float32Array.of(1, 2, 3, 4, 5, 6), labels: Uint8Array.of(0, 1) });
 * const batch = new Float32Array(6);
 * set.gather([1, 0], batch); // example 1 then example 0
 * console.log(batch); // [4, 5, 6, 1, 2, 3]
 * ```
 */
export class VectorSet {
  /** Names the set in messages. */
  readonly name: string;
  /** The number of examples. */
  readonly count: number;
  /** Values per example. */
  readonly width: number;
  /** Values per example, as every data set calls it. */
  readonly size: number;
  /** `count·width` values, example-major. */
  readonly values: Float32Array;
  /** One label per example, or undefined. */
  readonly labels: Uint8Array | undefined;

  /** Checks `options` and builds the set. */
  constructor(options: VectorSetOptions) {
    if (typeof options !== "object" || options === null) {
      throw new ReinmaxInputError("options", `expected an object, got ${describe(options)}`);
    }
    const { name, values, labels } = options;
    if (typeof name !== "string" || name === "") {
      throw new ReinmaxInputError("name", `expected a non-empty string, got ${describe(name)}`);
    }
    const count = requireInteger("count", options.count, 0);
    const width = requireInteger("width", options.width, 1, 1 << 24);
    if (!(values instanceof Float32Array)) {
      throw new ReinmaxInputError("values", `expected a Float32Array, got ${describe(values)}`);
    }
    if (values.length !== count * width) {
      throw new ReinmaxInputError(
        "values",
        `expected count × width = ${count} × ${width} = ${count * width} values, got ${values.length}`,
      );
    }
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new ReinmaxInputError(
        "values",
        `expected finite values, got ${values[bad]} at index ${bad} (example ${Math.floor(bad / width)})`,
      );
    }
    checkLabels(labels, count, "example");
    this.name = name;
    this.count = count;
    this.width = width;
    this.size = width;
    this.values = values;
    this.labels = labels;
  }

  /**
   * Writes examples `indices[start]`, …, `indices[start + count − 1]` into `out`, one after another from `out[0]`.
   * Throws a ReinmaxInputError for an index outside [0, this.count) or an `out` too short, and a DatasetError
   * naming the set when its values changed after it was built (detached, or no longer finite).
   */
  gather(
    indices: ArrayLike<number>,
    out: Float32Array,
    start = 0,
    count: number = indices.length - start,
  ): void {
    requireInteger("start", start, 0, indices.length);
    requireInteger("count", count, 0, indices.length - start);
    checkGatherOut(out, count, this.width);
    if (this.values.length !== this.count * this.width) {
      throw new DatasetError(
        this.name,
        `its values hold ${this.values.length} numbers, not the ${
          this.count * this.width
        } it was built with: the ` +
          `buffer was detached or resized after the set was made`,
      );
    }
    const w = this.width;
    for (let k = 0; k < count; k++) {
      const index = checkIndex(indices, start + k, this.count, this.name, "example");
      const example = this.values.subarray(index * w, (index + 1) * w);
      const bad = example.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        throw new DatasetError(
          this.name,
          `value ${example[bad]} of example ${index} is not finite (changed after the set was built)`,
        );
      }
      out.set(example, k * w);
    }
  }

  /** Examples `start` ≤ i < `end` as a new set that shares this set's memory. */
  slice(start: number, end: number): VectorSet {
    requireInteger("start", start, 0, this.count);
    requireInteger("end", end, start, this.count);
    return new VectorSet({
      name: `${this.name} [${start}, ${end})`,
      count: end - start,
      width: this.width,
      values: this.values.subarray(start * this.width, end * this.width),
      labels: this.labels?.subarray(start, end),
    });
  }
}
