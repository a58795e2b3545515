/**
 * Rebuilds fixtures/manifest.json and the IDX files under fixtures/fashion-mnist-10k/ and fixtures/digits/
 * byte for byte from two Debian packages: dataset-fashion-mnist (the Fashion-MNIST IDX files) and
 * python3-sklearn (sklearn/datasets/data/digits.csv.gz). The package versions are pinned below, so the output
 * depends only on them; moving to a newer package means changing PACKAGES and committing what this writes.
 *
 *   deno run --allow-read --allow-write --allow-run tools/make_fixtures.ts                 # write fixtures/
 *   deno run --allow-read --allow-write --allow-run tools/make_fixtures.ts --check         # exit 1 if stale
 *   deno run --allow-read --allow-write --allow-run tools/make_fixtures.ts --deb-dir DIR   # no download
 *
 * Without --deb-dir the packages are fetched with `apt-get download` (no installation, no root needed) into a
 * temporary directory; with it, DIR must hold `NAME_VERSION_all.deb` files of the pinned versions. Either
 * way they are unpacked with `dpkg-deb -x`. --check rebuilds in memory and names every file that differs from
 * the committed one.
 */
import { gzipSync } from "fflate";
import { gunzip } from "../src/data/gzip.ts";
import { encodeIdx, parseIdx } from "../src/data/idx.ts";

const PACKAGES = {
  fashion: { name: "dataset-fashion-mnist", version: "0.0~git20200523.55506a9-1" },
  sklearn: { name: "python3-sklearn", version: "1.2.1+dfsg-1" },
} as const;

const FASHION_DIR = "usr/share/datasets/fashion-mnist";
const DIGITS_CSV = "usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
const DIGITS_DESCR = "usr/lib/python3/dist-packages/sklearn/datasets/descr/digits.rst";
const FASHION_TRAIN = 10_000;
const FASHION_TEST = 2_000;
const DIGITS_ROWS = 1_797;
const DIGITS_TRAIN = 1_500;

const FASHION_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

const root = new URL("../", import.meta.url);
const fixturesDir = new URL("fixtures/", root);

interface Unpacked {
  readonly dir: string;
  readonly version: string;
  readonly homepage: string;
}

interface Split {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${stderr}`);
  return new TextDecoder().decode(out.stdout);
}

/** The .deb of `pkg` in `dir`: the pinned version, or an error that says what was found instead. */
async function findDeb(dir: string, pkg: { name: string; version: string }): Promise<string> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith(`${pkg.name}_`) && e.name.endsWith(".deb")) {
      found.push(`${dir}/${e.name}`);
    }
  }
  const versions: string[] = [];
  for (const file of found.sort()) {
    const version = (await run("dpkg-deb", ["-f", file, "Version"])).trim();
    if (version === pkg.version) return file;
    versions.push(version);
  }
  throw new Error(
    `${dir} has no ${pkg.name} ${pkg.version} .deb` +
      (versions.length
        ? ` (found version ${versions.join(", ")}; to move, change PACKAGES in this tool)`
        : ""),
  );
}

async function unpack(deb: string, into: string): Promise<Unpacked> {
  await run("dpkg-deb", ["-x", deb, into]);
  const version = (await run("dpkg-deb", ["-f", deb, "Version"])).trim();
  const homepage = (await run("dpkg-deb", ["-f", deb, "Homepage"])).trim();
  return { dir: into, version, homepage };
}

/** The `Files: *` paragraph of a Debian (DEP-5) copyright file, and the text of the licence it names. */
function copyrightOf(text: string, file: string): { copyright: string; license: string; text: string } {
  const paragraphs = text.split(/\n\s*\n/).map((p) => p.replace(/\s+$/, ""));
  const fieldOf = (p: string, name: string) => {
    const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t].*)*)`, "m").exec(p);
    return m?.[1].split("\n").map((l) => l.trim()).join("\n");
  };
  const files = paragraphs.find((p) => fieldOf(p, "Files") === "*");
  const copyright = files && fieldOf(files, "Copyright");
  const license = files && fieldOf(files, "License")?.split("\n")[0];
  if (!copyright || !license) throw new Error(`${file}: no "Files: *" paragraph with Copyright and License`);
  const standalone = paragraphs.find((p) =>
    !/^Files:/m.test(p) && fieldOf(p, "License")?.split("\n")[0] === license
  );
  const body = standalone &&
    fieldOf(standalone, "License")!.split("\n").slice(1).map((l) => l === "." ? "" : l);
  return { copyright, license, text: body ? body.join("\n") : "" };
}

function take(images: Uint8Array, labels: Uint8Array, start: number, end: number, size: number): Split {
  return {
    images: images.subarray(start * size, end * size),
    labels: labels.subarray(start, end),
    count: end - start,
  };
}

async function readFashion(dir: string, base: string, rows: number, size: number): Promise<Split> {
  const read = async (name: string) => {
    const path = `${FASHION_DIR}/${name}.gz`;
    return parseIdx(await Deno.readFile(`${dir}/${path}`), path);
  };
  const images = await read(`${base}-images-idx3-ubyte`);
  const labels = await read(`${base}-labels-idx1-ubyte`);
  if (images.type !== "u8" || labels.type !== "u8" || images.shape[0] < rows || labels.shape[0] < rows) {
    throw new Error(`${FASHION_DIR}/${base}-*: expected u8 images and labels with at least ${rows} rows`);
  }
  if (images.shape[1] * images.shape[2] !== size) throw new Error(`${base}: expected 28×28 images`);
  return take(images.data, labels.data, 0, rows, size);
}

/** digits.csv.gz: one image per line, 64 pixel values 0..16 then the label 0..9, comma-separated. */
function parseDigits(bytes: Uint8Array): { images: Uint8Array; labels: Uint8Array } {
  const lines = new TextDecoder().decode(gunzip(bytes, DIGITS_CSV)).split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length !== DIGITS_ROWS) {
    throw new Error(`${DIGITS_CSV}: expected ${DIGITS_ROWS} rows, found ${lines.length}`);
  }
  const images = new Uint8Array(DIGITS_ROWS * 64);
  const labels = new Uint8Array(DIGITS_ROWS);
  lines.forEach((line, r) => {
    const values = line.split(",");
    if (values.length !== 65 || !values.every((v) => /^\d{1,2}$/.test(v))) {
      throw new Error(`${DIGITS_CSV} line ${r + 1}: expected 65 comma-separated integers, found ${line}`);
    }
    const numbers = values.map(Number);
    if (numbers.slice(0, 64).some((v) => v > 16) || numbers[64] > 9) {
      throw new Error(`${DIGITS_CSV} line ${r + 1}: expected pixels 0..16 and a label 0..9, found ${line}`);
    }
    images.set(numbers.slice(0, 64), r * 64);
    labels[r] = numbers[64];
  });
  return { images, labels };
}

function gz(idx: Uint8Array): Uint8Array {
  return gzipSync(idx, { level: 9, mtime: 0 });
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface FileSpec {
  readonly holds: string;
  readonly rows: Record<string, unknown>;
  readonly shape: number[];
  readonly bytes: Uint8Array;
}

/** The four IDX files of a split pair, compressed, with what the manifest says about each. */
function mnistFiles(
  train: Split,
  test: Split,
  height: number,
  width: number,
  rows: (file: "train" | "t10k", kind: "images" | "labels", count: number) => Record<string, unknown>,
): Map<string, FileSpec> {
  const files = new Map<string, FileSpec>();
  for (const [prefix, split] of [["train", train], ["t10k", test]] as const) {
    const imageShape = [split.count, height, width];
    files.set(`${prefix}-images-idx3-ubyte.gz`, {
      holds: `images (u8 pixels, ${height}×${width})`,
      rows: rows(prefix, "images", split.count),
      shape: imageShape,
      bytes: gz(encodeIdx("u8", imageShape, split.images)),
    });
    files.set(`${prefix}-labels-idx1-ubyte.gz`, {
      holds: "labels (u8, one per image)",
      rows: rows(prefix, "labels", split.count),
      shape: [split.count],
      bytes: gz(encodeIdx("u8", [split.count], split.labels)),
    });
  }
  return files;
}

async function manifestFiles(files: Map<string, FileSpec>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of files) {
    out[name] = {
      holds: f.holds,
      rows: f.rows,
      shape: f.shape,
      dtype: "u8",
      bytes: f.bytes.length,
      sha256: await sha256(f.bytes),
    };
  }
  return out;
}

/** JSON with two-space indents and arrays of numbers on one line, which `deno fmt` leaves as they are. */
function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\s+(-?\d+(?:,\s+-?\d+)*)\s+\]/g,
    (_, body: string) => `[${body.split(/,\s+/).join(", ")}]`,
  ) + "\n";
}

async function build(debDir: string, work: string): Promise<Map<string, Uint8Array>> {
  const fashion = await unpack(await findDeb(debDir, PACKAGES.fashion), `${work}/fashion`);
  const sklearn = await unpack(await findDeb(debDir, PACKAGES.sklearn), `${work}/sklearn`);
  const docOf = (u: Unpacked, pkg: string) => `${u.dir}/usr/share/doc/${pkg}/copyright`;
  const fashionCopyright = copyrightOf(
    await Deno.readTextFile(docOf(fashion, PACKAGES.fashion.name)),
    `usr/share/doc/${PACKAGES.fashion.name}/copyright`,
  );
  const sklearnCopyright = copyrightOf(
    await Deno.readTextFile(docOf(sklearn, PACKAGES.sklearn.name)),
    `usr/share/doc/${PACKAGES.sklearn.name}/copyright`,
  );
  const digitsDescr = await Deno.readTextFile(`${sklearn.dir}/${DIGITS_DESCR}`);
  const uci = /https:\/\/archive\.ics\.uci\.edu\/\S+/.exec(digitsDescr)?.[0];
  if (!uci) throw new Error(`${DIGITS_DESCR}: expected the UCI URL of the data set`);

  const fashionFiles = mnistFiles(
    await readFashion(fashion.dir, "train", FASHION_TRAIN, 784),
    await readFashion(fashion.dir, "t10k", FASHION_TEST, 784),
    28,
    28,
    (prefix, kind, count) => ({
      path: `${FASHION_DIR}/${prefix}-${kind}-idx${kind === "images" ? 3 : 1}-ubyte.gz`,
      start: 0,
      end: count,
    }),
  );
  const digits = parseDigits(await Deno.readFile(`${sklearn.dir}/${DIGITS_CSV}`));
  const digitsFiles = mnistFiles(
    take(digits.images, digits.labels, 0, DIGITS_TRAIN, 64),
    take(digits.images, digits.labels, DIGITS_TRAIN, DIGITS_ROWS, 64),
    8,
    8,
    (prefix, kind) => ({
      path: DIGITS_CSV,
      start: prefix === "train" ? 0 : DIGITS_TRAIN,
      end: prefix === "train" ? DIGITS_TRAIN : DIGITS_ROWS,
      columns: kind === "images" ? "0..63 (row-major 8×8)" : "64",
    }),
  );

  const manifest = {
    about: "Image data sets for tests and demos, rebuilt byte for byte by tools/make_fixtures.ts from the " +
      "Debian packages named below; do not edit by hand. Each file is IDX (u8), gzip-compressed (level 9, " +
      "mtime 0). rows: [start, end) of the source, 0-based.",
    datasets: {
      "fashion-mnist-10k": {
        description:
          "Fashion-MNIST (Zalando article images, 28×28 greyscale, 10 classes): the first 10,000 " +
          "training images and the first 2,000 test images of the original files, with their labels.",
        classes: FASHION_CLASSES,
        source: {
          debianPackage: PACKAGES.fashion.name,
          version: fashion.version,
          paths: [...fashionFiles.values()].map((f) => f.rows.path),
          upstream: fashion.homepage,
        },
        licence: {
          spdx: "MIT",
          copyright: "© 2017 Zalando SE",
          debianCopyright: {
            file: `usr/share/doc/${PACKAGES.fashion.name}/copyright`,
            files: "*",
            copyright: fashionCopyright.copyright,
            license: fashionCopyright.license,
          },
          text: fashionCopyright.text,
        },
        maxValue: 255,
        files: await manifestFiles(fashionFiles),
      },
      "digits": {
        description:
          "Optical recognition of handwritten digits: 8×8 images of pixel counts 0..16 and labels " +
          "0..9, the 1,797 rows of scikit-learn's digits.csv.gz (the test set of UCI optdigits) in file " +
          "order: rows 0..1499 are train, rows 1500..1796 test.",
        source: {
          debianPackage: PACKAGES.sklearn.name,
          version: sklearn.version,
          paths: [DIGITS_CSV],
          upstream: uci,
          packageHomepage: sklearn.homepage,
        },
        licence: {
          spdx: "CC-BY-4.0",
          attribution:
            "Optical Recognition of Handwritten Digits, E. Alpaydin and C. Kaynak (1998), UCI Machine " +
            `Learning Repository, ${uci}, licensed under CC BY 4.0 ` +
            "(https://creativecommons.org/licenses/by/4.0/). Changed: split into train and test as above " +
            "and stored as IDX.",
          debianCopyright: {
            file: `usr/share/doc/${PACKAGES.sklearn.name}/copyright`,
            files: "*",
            copyright: sklearnCopyright.copyright,
            license: sklearnCopyright.license,
            note:
              "The Debian copyright file names no separate licence for digits.csv.gz; it falls under the " +
              "package's Files: * paragraph above. The data set's own licence is the UCI repository's.",
          },
        },
        maxValue: 16,
        files: await manifestFiles(digitsFiles),
      },
    },
  };

  const outputs = new Map<string, Uint8Array>();
  outputs.set("manifest.json", new TextEncoder().encode(toJson(manifest)));
  for (const [file, f] of fashionFiles) outputs.set(`fashion-mnist-10k/${file}`, f.bytes);
  for (const [file, f] of digitsFiles) outputs.set(`digits/${file}`, f.bytes);
  return outputs;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function main() {
  const args = [...Deno.args];
  const check = args.includes("--check");
  const at = args.indexOf("--deb-dir");
  const unknown = args.filter((a, i) => a !== "--check" && !(at >= 0 && (i === at || i === at + 1)));
  if (unknown.length > 0 || (at >= 0 && !args[at + 1])) {
    console.error("usage: make_fixtures.ts [--check] [--deb-dir DIR]");
    Deno.exit(2);
  }
  const work = await Deno.makeTempDir({ prefix: "reinmax-fixtures-" });
  try {
    let debDir = at >= 0 ? args[at + 1] : undefined;
    if (!debDir) {
      debDir = `${work}/debs`;
      await Deno.mkdir(debDir);
      const specs = Object.values(PACKAGES).map((p) => `${p.name}=${p.version}`);
      console.log(`apt-get download ${specs.join(" ")}`);
      await run("apt-get", ["download", ...specs], debDir);
    }
    const outputs = await build(debDir, work);
    const stale: string[] = [];
    for (const [path, bytes] of outputs) {
      const url = new URL(path, fixturesDir);
      let current: Uint8Array | undefined;
      try {
        current = await Deno.readFile(url);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (current && equal(current, bytes)) continue;
      if (check) {
        stale.push(`fixtures/${path}${current ? "" : " (missing)"}`);
      } else {
        await Deno.mkdir(new URL(".", url), { recursive: true });
        await Deno.writeFile(url, bytes);
        console.log(`wrote fixtures/${path} (${bytes.length} bytes)`);
      }
    }
    if (check) {
      if (stale.length > 0) {
        console.error(
          `fixtures/ differs from what the Debian packages build: ${stale.join(", ")}; ` +
            "run tools/make_fixtures.ts and commit the result",
        );
        Deno.exit(1);
      }
      console.log(`fixtures/ is up to date (${outputs.size} files rebuilt byte for byte)`);
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await main();
