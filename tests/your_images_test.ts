// examples/your_images.ts as a user runs it on a directory of pictures, and examples/image_files.ts, which
// decodes them: PNGs assembled here byte by byte from the PNG specification (the bit depths, palettes,
// transparency keys and interlacing that fast-png's own encoder cannot write) must come back as the RGBA
// they encode, and a JPEG's EXIF orientation must turn its pixels.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { decode as decodePng } from "fast-png";
import { zlibSync } from "fflate";
import jpeg from "jpeg-js";
import { DatasetError, encodePng, type RgbaPicture } from "../mod.ts";
import { exifOrientation, oriented, readPictureFiles } from "../examples/image_files.ts";
import { concat } from "./data_helpers.ts";
import { crcBitwise } from "./reference/crc32.ts";
import { runExample } from "./util.ts";

// ---------------------------------------------------------------------------------------------------------
// PNGs from the specification (W3C PNG, 2nd edition): chunks, IHDR, scanlines and the Adam7 passes

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOUR = { grey: 0, rgb: 2, palette: 3, greyAlpha: 4, rgba: 6 } as const;

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** §5.3: length, type, data, CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const body = concat(new TextEncoder().encode(type), data);
  return concat(u32(data.length), body, u32(crcBitwise(body)));
}

/** One scanline's samples packed most significant bit first (§7.2), padded to a whole byte. */
function packSamples(samples: readonly number[], depth: number): Uint8Array {
  if (depth === 16) return Uint8Array.from(samples.flatMap((s) => [s >> 8, s & 0xff]));
  if (depth === 8) return Uint8Array.from(samples);
  const out = new Uint8Array(Math.ceil((samples.length * depth) / 8));
  samples.forEach((s, i) => {
    const bit = i * depth;
    out[bit >> 3] |= s << (8 - depth - (bit % 8));
  });
  return out;
}

interface PngSpec {
  readonly width: number;
  readonly height: number;
  readonly depth: 1 | 2 | 4 | 8 | 16;
  readonly colour: number;
  /** Samples per pixel of the colour type. */
  readonly channels: number;
  /** Every sample, row after row, a pixel's samples together. */
  readonly samples: readonly number[];
  readonly palette?: readonly (readonly number[])[];
  readonly transparency?: Uint8Array;
  readonly adam7?: boolean;
}

/** The file: IHDR, PLTE and tRNS when given, one IDAT of filter-0 scanlines, IEND. */
function pngFile(spec: PngSpec): Uint8Array {
  const { width, height, depth, channels, samples } = spec;
  const pixel = (x: number, y: number) =>
    samples.slice((y * width + x) * channels, (y * width + x + 1) * channels);
  // §8.2: the seven passes of Adam7, each a reduced image of its own scanlines; the plain image is one pass.
  const passes = spec.adam7
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  const lines: Uint8Array[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0; y < height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < width; x += dx) row.push(...pixel(x, y));
      if (row.length > 0) lines.push(Uint8Array.of(0), packSamples(row, depth));
    }
  }
  const header = concat(u32(width), u32(height), Uint8Array.of(depth, spec.colour, 0, 0, spec.adam7 ? 1 : 0));
  return concat(
    SIGNATURE,
    chunk("IHDR", header),
    ...(spec.palette ? [chunk("PLTE", Uint8Array.from(spec.palette.flat()))] : []),
    ...(spec.transparency ? [chunk("tRNS", spec.transparency)] : []),
    chunk("IDAT", zlibSync(concat(...lines))),
    chunk("IEND", new Uint8Array(0)),
  );
}

/** §13.12: a sample of `depth` bits as 8 bits. */
const to8 = (v: number, depth: number) => Math.round((v * 255) / (2 ** depth - 1));

/** Grey samples as RGBA, opaque. */
const greyRgba = (samples: readonly number[], depth: number) =>
  samples.flatMap((v) => [to8(v, depth), to8(v, depth), to8(v, depth), 255]);

/** Each case: a file and the RGBA it must decode to. */
function decodingCases(): {
  name: string;
  bytes: Uint8Array;
  width: number;
  height: number;
  rgba: number[];
}[] {
  const cases: { name: string; bytes: Uint8Array; width: number; height: number; rgba: number[] }[] = [];
  const add = (name: string, spec: PngSpec, rgba: number[]) =>
    cases.push({ name, bytes: pngFile(spec), width: spec.width, height: spec.height, rgba });
  const grey = (name: string, depth: 1 | 2 | 4 | 16, width: number, samples: number[]) =>
    add(name, { width, height: samples.length / width, depth, colour: COLOUR.grey, channels: 1, samples }, [
      ...greyRgba(samples, depth),
    ]);
  // Widths that leave a row's last byte part-filled, and patterns that read differently from either end.
  grey("grey1.png", 1, 10, [
    1,
    0,
    1,
    1,
    0,
    0,
    0,
    1,
    1,
    0,
    0,
    1,
    0,
    0,
    1,
    1,
    1,
    0,
    0,
    1,
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    1,
  ]);
  grey("grey2.png", 2, 5, [0, 1, 2, 3, 2, 3, 3, 0, 1, 0]);
  grey("grey4.png", 4, 3, [0, 15, 7, 8, 1, 14]);
  // 0x12ff: the specification's rounding gives 19 where keeping the high byte would give 18.
  grey("grey16.png", 16, 4, [0, 0xffff, 0x12ff, 0x8080]);
  const palette = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120], [130, 140, 150]];
  const alphas = [0, 128, 255]; // entries past the tRNS are opaque
  const indices = [0, 1, 2, 3, 4, 1];
  add(
    "palette4_trns.png",
    {
      width: 3,
      height: 2,
      depth: 4,
      colour: COLOUR.palette,
      channels: 1,
      samples: indices,
      palette,
      transparency: Uint8Array.from(alphas),
    },
    indices.flatMap((i) => [...palette[i], alphas[i] ?? 255]),
  );
  const bits = [1, 0, 0, 1, 1, 1, 0, 1, 0];
  add(
    "palette1.png",
    {
      width: 9,
      height: 1,
      depth: 1,
      colour: COLOUR.palette,
      channels: 1,
      samples: bits,
      palette: palette.slice(3),
    },
    bits.flatMap((i) => [...palette[3 + i], 255]),
  );
  add(
    "grey_alpha.png",
    { width: 2, height: 1, depth: 8, colour: COLOUR.greyAlpha, channels: 2, samples: [50, 200, 250, 0] },
    [50, 50, 50, 200, 250, 250, 250, 0],
  );
  add(
    "rgba16.png",
    {
      width: 1,
      height: 1,
      depth: 16,
      colour: COLOUR.rgba,
      channels: 4,
      samples: [0xffff, 0x8000, 0x0000, 0x7fff],
    },
    [255, 128, 0, 127],
  );
  // tRNS as a colour key: the one grey level, or the one RGB colour, that is transparent.
  add(
    "grey8_key.png",
    {
      width: 3,
      height: 1,
      depth: 8,
      colour: COLOUR.grey,
      channels: 1,
      samples: [64, 65, 64],
      transparency: Uint8Array.of(0, 64),
    },
    [64, 64, 64, 0, 65, 65, 65, 255, 64, 64, 64, 0],
  );
  add(
    "grey2_key.png",
    {
      width: 4,
      height: 1,
      depth: 2,
      colour: COLOUR.grey,
      channels: 1,
      samples: [2, 1, 2, 3],
      transparency: Uint8Array.of(0, 2),
    },
    [170, 170, 170, 0, 85, 85, 85, 255, 170, 170, 170, 0, 255, 255, 255, 255],
  );
  // An RGB file may carry a suggested palette (§11.2.3); its pixels are still colours, not indices. (Three
  // pixels at least: fast-png refuses an RGB key larger than the pixel count, counting its three samples.)
  add(
    "rgb_plte_key.png",
    {
      width: 3,
      height: 1,
      depth: 8,
      colour: COLOUR.rgb,
      channels: 3,
      samples: [1, 2, 3, 4, 5, 6, 1, 2, 4],
      palette: palette.slice(0, 2),
      transparency: Uint8Array.of(0, 1, 0, 2, 0, 3),
    },
    [1, 2, 3, 0, 4, 5, 6, 255, 1, 2, 4, 255],
  );
  // Adam7 with whole-byte samples: 9×10 puts pixels in all seven passes, some of them ragged.
  const ramp = Array.from({ length: 90 }, (_, i) => (i * 37) % 256);
  add(
    "adam7_grey8.png",
    { width: 9, height: 10, depth: 8, colour: COLOUR.grey, channels: 1, samples: ramp, adam7: true },
    greyRgba(ramp, 8),
  );
  return cases;
}

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "reinmax-your-images-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("image files: PNGs of every bit depth, palettes, alpha and colour keys decode to their RGBA", async () => {
  await inTempDir(async (dir) => {
    const cases = decodingCases();
    for (const c of cases) await Deno.writeFile(`${dir}/${c.name}`, c.bytes);
    await Deno.writeFile(`${dir}/notes.txt`, new TextEncoder().encode("not a picture"));
    const { files, pictures } = await readPictureFiles(dir);
    assertEquals(
      files,
      cases.map((c) => c.name).sort(),
      "the pictures, in file-name order, and nothing else",
    );
    for (const c of cases) {
      const picture = pictures[files.indexOf(c.name)];
      assertEquals([picture.width, picture.height], [c.width, c.height], c.name);
      assertEquals([...picture.data], c.rgba, c.name);
    }
  });
});

Deno.test("image files: an interlaced PNG of fewer than 8 bits, or a corrupt one, is a DatasetError naming it", async () => {
  await inTempDir(async (dir) => {
    const bits = [1, 0, 1, 1, 0, 0, 0, 1, 1];
    const path = `${dir}/adam7_grey1.png`;
    await Deno.writeFile(
      path,
      pngFile({
        width: 3,
        height: 3,
        depth: 1,
        colour: COLOUR.grey,
        channels: 1,
        samples: bits,
        adam7: true,
      }),
    );
    const error = await assertRejects(() => readPictureFiles(dir), DatasetError);
    assertEquals(error.source, path);
    assertStringIncludes(error.message, "interlaced");
    await Deno.remove(path);
    await Deno.writeFile(`${dir}/broken.png`, new TextEncoder().encode("\x89PNG but then nothing"));
    const broken = await assertRejects(() => readPictureFiles(dir), DatasetError);
    assertEquals(broken.source, `${dir}/broken.png`);
  });
});

/** A 3×2 picture whose six pixels differ: a, b, c above d, e, f, each pixel's red its letter's index. */
const LETTERS: RgbaPicture = {
  width: 3,
  height: 2,
  data: Uint8Array.from([0, 1, 2, 3, 4, 5].flatMap((i) => [i, 10 * i, 100, 255])),
};
const reds = (p: RgbaPicture) => Array.from({ length: p.width * p.height }, (_, i) => p.data[4 * i]);

Deno.test("image files: EXIF orientations turn the pixels as the tag says", () => {
  // The tag's meanings (EXIF 2.32, Orientation): 6 is a quarter turn clockwise, 5 the transpose; the rest
  // are those composed with mirrors and half turns.
  const turned = oriented(LETTERS, 6);
  assertEquals([turned.width, turned.height, reds(turned)], [2, 3, [3, 0, 4, 1, 5, 2]]);
  assertEquals(reds(oriented(LETTERS, 5)), [0, 3, 1, 4, 2, 5]);
  assertEquals(reds(oriented(LETTERS, 2)), [2, 1, 0, 5, 4, 3]);
  const twice = (k: number, m: number) => reds(oriented(oriented(LETTERS, k), m));
  assertEquals(reds(oriented(LETTERS, 3)), twice(6, 6));
  assertEquals(reds(oriented(LETTERS, 8)), reds(oriented(oriented(oriented(LETTERS, 6), 6), 6)));
  assertEquals(reds(oriented(LETTERS, 4)), twice(2, 3));
  assertEquals(reds(oriented(LETTERS, 7)), twice(5, 3));
  assertEquals(oriented(LETTERS, 1), LETTERS);
  // Big- and little-endian TIFF headers, with jpeg-js's leading NUL; junk is orientation 1.
  const ifd = (little: boolean, tag: number, value: number) => {
    const b = new Uint8Array(26), v = new DataView(b.buffer);
    b.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
    v.setUint16(2, 42, little);
    v.setUint32(4, 8, little);
    v.setUint16(8, 1, little);
    v.setUint16(10, tag, little);
    v.setUint16(12, 3, little);
    v.setUint32(14, 1, little);
    v.setUint16(18, value, little);
    return b;
  };
  assertEquals(exifOrientation(concat(Uint8Array.of(0), ifd(false, 0x0112, 6))), 6);
  assertEquals(exifOrientation(ifd(true, 0x0112, 8)), 8);
  assertEquals(exifOrientation(ifd(true, 0x0110, 8)), 1, "another tag");
  assertEquals(exifOrientation(ifd(true, 0x0112, 9)), 1, "no such orientation");
  assertEquals(exifOrientation(Uint8Array.of(0, 1, 2)), 1);
});

/** A JPEG of `picture` (jpeg-js), with an EXIF APP1 segment after SOI when `orientation` is given. */
function jpegFile(picture: RgbaPicture, orientation?: number): Uint8Array {
  const bytes = new Uint8Array(jpeg.encode({ ...picture, data: picture.data }, 95).data);
  if (orientation === undefined) return bytes;
  const tiff = concat(
    Uint8Array.of(0x4d, 0x4d, 0, 42),
    u32(8),
    Uint8Array.of(0, 1, 0x01, 0x12, 0, 3),
    u32(1),
    Uint8Array.of(0, orientation, 0, 0),
    u32(0),
  );
  const payload = concat(new TextEncoder().encode("Exif\0\0"), tiff);
  const length = payload.length + 2;
  const app1 = concat(Uint8Array.of(0xff, 0xe1, length >> 8, length & 0xff), payload);
  return concat(bytes.subarray(0, 2), app1, bytes.subarray(2));
}

Deno.test("image files: a JPEG taken on its side comes out upright", async () => {
  await inTempDir(async (dir) => {
    // 16×8, black on the left and white on the right; turned a quarter clockwise, black is on top.
    const data = new Uint8Array(16 * 8 * 4);
    for (let i = 0; i < 16 * 8; i++) data.set(i % 16 < 8 ? [0, 0, 0, 255] : [255, 255, 255, 255], 4 * i);
    await Deno.writeFile(`${dir}/side.jpg`, jpegFile({ width: 16, height: 8, data }, 6));
    const [upright] = (await readPictureFiles(dir)).pictures;
    assertEquals([upright.width, upright.height], [8, 16]);
    const at = (x: number, y: number) => upright.data[(y * 8 + x) * 4];
    assert(at(4, 2) < 40 && at(4, 13) > 215, `top ${at(4, 2)}, bottom ${at(4, 13)}`);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The program

/** 12 small pictures of assorted sizes: grey and RGB PNGs (the SDK's encoder) and JPEGs (jpeg-js). */
async function writePictures(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    const width = 10 + 2 * (i % 4), height = 12 - (i % 3);
    // A bright disc on a dark ground, its place and colour different in each picture.
    const rgb = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = (x - (3 + (i % 5))) ** 2 + (y - (4 + (i % 4))) ** 2 < 9;
        rgb.set(inside ? [255, 40 * (i % 6), 255 - 20 * i] : [10, 20, 30], (y * width + x) * 3);
      }
    }
    const kind = i % 3;
    const name = `pic${String(i).padStart(2, "0")}.${kind === 2 ? "jpg" : "png"}`;
    let bytes: Uint8Array;
    if (kind === 0) {
      bytes = encodePng(Uint8Array.from({ length: width * height }, (_, p) => rgb[3 * p]), width, height);
    } else if (kind === 1) bytes = encodePng(rgb, width, height, 3);
    else {
      const rgba = new Uint8Array(width * height * 4);
      for (let p = 0; p < width * height; p++) rgba.set([...rgb.subarray(3 * p, 3 * p + 3), 255], 4 * p);
      bytes = jpegFile({ width, height, data: rgba });
    }
    await Deno.writeFile(`${dir}/${name}`, bytes);
    names.push(name);
  }
  return names;
}

/** A short run: 8×8 pictures, a 4×3 code, 2 epochs, on WASM. */
const QUICK = ["--size", "8", "--config", "4x3", "--hidden", "16", "--epochs", "2", "--backend", "wasm"];

const run = (args: string[], permissions = ["--allow-read", "--allow-write"]) =>
  runExample("your_images.ts", args, permissions);

/** The codes file's lines, parsed. */
async function readCodes(path: string): Promise<{ file: string; codes: number[] }[]> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").map((line) => JSON.parse(line));
}

Deno.test("your_images CLI: a short run writes the picture grid and one code line per picture, the same twice", async () => {
  await inTempDir(async (dir) => {
    const names = await writePictures(dir);
    const out = `${dir}/run`;
    const first = await run(["--images", dir, ...QUICK, "--out", out, "--json"]);
    assertEquals(first.code, 0, first.stderr);
    const lines = first.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assertEquals(lines.length, 3, first.stdout);
    assertEquals(lines.slice(0, 2).map((e) => [e.epoch, e.step]), [[1, 1], [2, 2]], "12 pictures, batch 12");
    const result = lines[2];
    assertEquals(
      [result.pictures, result.channels, result.height, result.width, result.categories, result.latents],
      [12, 3, 8, 8, 4, 3],
      "some pictures have colour, so auto is RGB",
    );
    assertEquals([result.batch, result.estimator, result.tau, result.optimizer], [
      12,
      "reinmax",
      1.3,
      "radam",
    ]);
    assert(
      result.loss > 0 && Number.isFinite(result.loss) && result.heldOutLoss === null,
      JSON.stringify(result),
    );
    assertEquals(result.png, await Deno.realPath(`${out}.png`));
    assertEquals(result.codes, await Deno.realPath(`${out}.codes.jsonl`));

    // 12 pictures of 8×8 drawn 7× larger with 2 pixels of padding, one grid row per band, in RGB.
    const png = decodePng(await Deno.readFile(`${out}.png`));
    assertEquals([png.width, png.height, png.channels, png.depth], [12 * 56 + 13 * 2, 3 * 56 + 4 * 2, 3, 8]);
    const codes = await readCodes(`${out}.codes.jsonl`);
    assertEquals(codes.map((c) => c.file), names);
    for (const { file, codes: code } of codes) {
      assertEquals(code.length, 3, file);
      assert(code.every((v) => Number.isInteger(v) && v >= 0 && v < 4), `${file}: ${code}`);
    }

    // Again with the same seed, into the same directory: its own outputs are not read as pictures, and the
    // run is the same.
    const second = await run(["--images", dir, ...QUICK, "--out", out, "--json"]);
    assertEquals(second.code, 0, second.stderr);
    assertEquals(JSON.parse(second.stdout.trim().split("\n")[2]).pictures, 12);
    assertEquals(await readCodes(`${out}.codes.jsonl`), codes);
  });
});

Deno.test("your_images CLI: grey, a held-out share, its own size and file names", async () => {
  await inTempDir(async (dir) => {
    const pictures = `${dir}/pictures`;
    await Deno.mkdir(pictures);
    await writePictures(pictures);
    const [png, codes] = [`${dir}/grid.png`, `${dir}/codes.jsonl`];
    const { code, stdout, stderr } = await run([
      "--images",
      pictures,
      ...QUICK,
      "--height",
      "6",
      "--width",
      "10",
      "--fit",
      "stretch",
      "--channels",
      "1",
      "--hold-out",
      "3",
      "--estimator",
      "gst",
      "--png",
      png,
      "--codes",
      codes,
      "--checkpoint",
      `${dir}/model.safetensors`,
    ]);
    assertEquals(code, 0, stderr);
    assertStringIncludes(stdout, "12 pictures");
    assertStringIncludes(stdout, "9 train, 3 held out");
    assertStringIncludes(stdout, "held-out −ELBO");
    assertStringIncludes(stdout, "gst τ=0.7", "the estimator's own default τ");
    for (const path of [png, codes, `${dir}/model.safetensors`]) {
      assertStringIncludes(stdout, `wrote ${await Deno.realPath(path)}`);
    }
    // 6×10 pictures drawn 6× larger (56 / 10, rounded), grey.
    const grid = decodePng(await Deno.readFile(png));
    assertEquals([grid.width, grid.height, grid.channels], [12 * 60 + 13 * 2, 3 * 36 + 4 * 2, 1]);
    assertEquals((await readCodes(codes)).length, 12, "codes for the held-out pictures too");
  });
});

Deno.test("your_images CLI: no pictures, a bad flag or an unwritable output is named before any training", async () => {
  await inTempDir(async (dir) => {
    const empty = `${dir}/empty`;
    await Deno.mkdir(empty);
    await Deno.writeFile(`${empty}/readme.txt`, new Uint8Array(1));
    const pictures = `${dir}/pictures`;
    await Deno.mkdir(pictures);
    await writePictures(pictures);
    const out = ["--out", `${dir}/run`];
    for (
      const [args, flag, words] of [
        [[...out], "--images", "required"],
        [["--images", empty, ...out], "--images", "no .png, .jpg or .jpeg"],
        [["--images", `${dir}/missing`, ...out], "--images", "cannot read the directory"],
        [["--images", pictures, "--config", "1x5", ...out], "--config", "CxL"],
        [["--images", pictures, "--config", "ten", ...out], "--config", "CxL"],
        [["--images", pictures, "--size", "0", ...out], "--size", ""],
        [["--images", pictures, "--channels", "2", ...out], "--channels", ""],
        [["--images", pictures, "--estimator", "reinmax", "--tau", "0.5", ...out], "--tau", ""],
        [["--images", pictures, "--batch", "13", ...out], "--batch", "12 pictures"],
        [["--images", pictures, "--hold-out", "12", ...out], "--hold-out", "12 pictures"],
        [["--images", pictures, "--png", `${dir}/no/such/dir/x.png`, ...out], "--png", "does not exist"],
        [["--images", pictures, "--codes", pictures, ...out], "--codes", "is a directory"],
        [["--images", pictures, "--codes", `${dir}/run.png`, ...out], "--codes", "also the file of --png"],
      ] as const
    ) {
      const { code, stdout, stderr } = await run([...args]);
      assertEquals(code, 2, `${args}: ${stderr}`);
      assert(stderr.startsWith(`error: ${flag}:`), `${args}: ${stderr}`);
      assertStringIncludes(stderr, words, `${args}`);
      assert(!stdout.includes("backend:") && !stderr.includes("backend:"), `${args}: no backend was chosen`);
    }
    const readOnly = await run(["--images", pictures, ...out], ["--allow-read"]);
    assertEquals(readOnly.code, 2, readOnly.stderr);
    assertStringIncludes(readOnly.stderr, "error: --png: cannot write");
    assertStringIncludes(readOnly.stderr, "--allow-write");

    // A file that only looks like a picture: exit 1, the file named, nothing written.
    await Deno.writeFile(`${pictures}/pic05.png`, new TextEncoder().encode("GIF89a, renamed"));
    const corrupt = await run(["--images", pictures, ...QUICK, ...out]);
    assertEquals(corrupt.code, 1, corrupt.stderr);
    assertStringIncludes(corrupt.stderr, "DatasetError");
    assertStringIncludes(corrupt.stderr, `${pictures}/pic05.png`);
    assert(!corrupt.stdout.includes("backend:"), corrupt.stdout);
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), ["empty", "pictures"]);
  });
});

Deno.test("your_images CLI: --fit crop keeps a picture's centre, stretch all of it", async () => {
  await inTempDir(async (dir) => {
    const pictures = `${dir}/pictures`;
    await Deno.mkdir(pictures);
    // 30×10: black thirds either side of a white square.
    const wide = Uint8Array.from({ length: 300 }, (_, i) => (i % 30 >= 10 && i % 30 < 20 ? 255 : 0));
    for (const name of ["a.png", "b.png"]) {
      await Deno.writeFile(`${pictures}/${name}`, encodePng(wide, 30, 10));
    }
    const topRow = async (fit: string) => {
      const png = `${dir}/${fit}.png`;
      const args = ["--images", pictures, ...QUICK, "--size", "3", "--fit", fit, "--png", png];
      const { code, stderr } = await run([...args, "--out", `${dir}/${fit}`]);
      assertEquals(code, 0, stderr);
      // The first picture's cell: 3×3 drawn 19× larger (56 / 3, rounded) after 2 pixels of padding.
      const grid = decodePng(await Deno.readFile(png));
      assertEquals(grid.channels, 1, "grey pictures");
      return [0, 1, 2].map((x) => grid.data[(2 + 9) * grid.width + 2 + 19 * x + 9]);
    };
    assertEquals(await topRow("crop"), [255, 255, 255]);
    assertEquals(await topRow("stretch"), [0, 255, 0]);
  });
});
