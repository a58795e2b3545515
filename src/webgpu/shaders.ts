/**
 * Assembles one WGSL module per kernel from the shader files (shaders/*.wgsl, embedded in src/gen/shaders.ts)
 * and the kernel ABI (src/kernels.ts).
 *
 * Each kernel is compiled as its own module so that every kernel can name its bindings after the kernel's
 * arguments at @binding(0..) without clashing with its neighbours, and so that a compile error names one
 * kernel. The bindings and the `Params` uniform struct of a kernel are not written in the shader files: they
 * are generated here from its signature (see {@link kernelBindings}), so the table is their only source. A
 * file is a prelude (helpers shared by its kernels) followed by sections, marked by directives on lines of
 * their own:
 *
 *   //! use FILE        (prelude) the prelude of shaders/FILE.wgsl comes first (transitively, once)
 *   //! kernel NAME     a section with the body and entry point NAME of one kernel of src/kernels.ts, which
 *                       sees its arguments as bindings of their own names and `params.NAME`
 *   //! snippet NAME    a section of helpers that read kernel bindings, pasted where a kernel asks for it
 *   //! include NAME    the snippet NAME of the same file is part of this kernel (in a kernel section) or of
 *                       the prelude (in the prelude: every kernel of the file, and of files that use it);
 *                       FILE.NAME takes the snippet NAME of shaders/FILE.wgsl
 * @module
 */
import { estimatorConstants } from "../estimators.ts";
import { KERNELS, type KernelSignature } from "../kernels.ts";

/** The WGSL of one kernel, ready for createShaderModule. */
export interface KernelSource {
  /** The kernel (and entry point) name. */
  readonly kernel: string;
  /** The shader file it comes from, without `.wgsl`. */
  readonly file: string;
  readonly code: string;
}

interface Section {
  readonly kind: "kernel" | "snippet";
  readonly name: string;
  readonly text: string;
  readonly includes: readonly string[];
}

interface ShaderFile {
  readonly prelude: string;
  readonly uses: readonly string[];
  /** Snippets pasted before the prelude (`//! include` in the prelude). */
  readonly includes: readonly string[];
  readonly sections: readonly Section[];
}

const DIRECTIVE = /^\/\/!\s*(\w+)\s+(\w+(?:\.\w+)?)\s*$/;

function parseFile(file: string, text: string): ShaderFile {
  const lines = text.split("\n");
  const prelude: string[] = [];
  const uses: string[] = [];
  const includes: string[] = [];
  const sections: { kind: "kernel" | "snippet"; name: string; lines: string[]; includes: string[] }[] = [];
  for (const [index, line] of lines.entries()) {
    const match = DIRECTIVE.exec(line.trim());
    const current = sections.at(-1);
    if (!match) {
      (current ? current.lines : prelude).push(line);
      continue;
    }
    const [, directive, name] = match;
    const where = `shaders/${file}.wgsl line ${index + 1}`;
    if (directive === "kernel" || directive === "snippet") {
      sections.push({ kind: directive, name, lines: [line], includes: [] });
    } else if (directive === "use") {
      if (current) throw new Error(`${where}: "//! use" belongs in the prelude, before the first section`);
      uses.push(name);
      prelude.push(line);
    } else if (directive === "include") {
      if (current?.kind === "snippet") {
        throw new Error(`${where}: "//! include" belongs in a kernel section or the prelude`);
      }
      (current ? current.includes : includes).push(name);
      (current ? current.lines : prelude).push(line);
    } else {
      throw new Error(`${where}: unknown directive "//! ${directive}"`);
    }
  }
  return {
    prelude: prelude.join("\n"),
    uses,
    includes,
    sections: sections.map((s) => ({
      kind: s.kind,
      name: s.name,
      text: s.lines.join("\n"),
      includes: s.includes,
    })),
  };
}

// Words WGSL reserves (keywords and reserved words of the WGSL spec) that could name a kernel argument; such
// an argument's binding is spelled with a trailing underscore (`target` → `target_`).
const WGSL_RESERVED = new Set(
  `alias break case const const_assert continue continuing default diagnostic discard else enable false
  fn for if let loop override requires return struct switch true var while NULL Self abstract active
  alignas alignof as asm asm_fragment async attribute auto await become cast catch class co_await
  co_return co_yield coherent column_major common compile compile_fragment concept const_cast
  consteval constexpr constinit crate debugger decltype delete demote demote_to_helper do dynamic_cast
  enum explicit export extends extern external fallthrough filter final finally friend from fxgroup
  get goto groupshared highp impl implements import inline instanceof interface layout lowp macro
  macro_rules match mediump meta mod module move mut mutable namespace new nil noexcept noinline
  nointerpolation non_coherent noncoherent noperspective null nullptr of operator package packoffset
  partition pass patch pixelfragment precise precision premerge priv protected pub public readonly ref
  regardless register reinterpret_cast require resource restrict self set shared sizeof smooth snorm
  static static_assert static_cast std subroutine super target template this thread_local throw trait
  try type typedef typeid typename typeof union unless unorm unsafe unsized use using varying virtual
  volatile wgsl where with writeonly yield`.split(/\s+/),
);

/** The WGSL identifier of a kernel argument: its name, or its name and `_` where WGSL reserves the name. */
export function wgslName(name: string): string {
  return WGSL_RESERVED.has(name) ? `${name}_` : name;
}

/**
 * The declarations a kernel's body sees, generated from its signature: the `Params` struct of its scalar
 * arguments in order, one storage binding per buffer argument at @binding(0..) (read_write when the kernel
 * writes it), then the `params` uniform after them; no struct and no uniform when it has no scalars.
 */
export function kernelBindings(kernel: string, signature: KernelSignature): string {
  const lines = [`// The arguments of ${kernel}, generated from src/kernels.ts.`];
  if (signature.params.length > 0) {
    lines.push("struct Params {", ...signature.params.map((p) => `  ${p.name}: ${p.type},`), "}");
  }
  signature.buffers.forEach((b, binding) => {
    const access = b.written ? "read_write" : "read";
    lines.push(
      `@group(0) @binding(${binding}) var<storage, ${access}> ${wgslName(b.name)}: array<${b.type}>;`,
    );
  });
  if (signature.params.length > 0) {
    lines.push(`@group(0) @binding(${signature.buffers.length}) var<uniform> params: Params;`);
  }
  return lines.join("\n");
}

// What a shader file must leave to kernelBindings.
const HAND_WRITTEN_ABI = /@binding\s*\(|\bstruct\s+Params\b/;

/**
 * Every kernel defined by `files` (WGSL sources by file name), each as a self-contained module with the
 * bindings of its signature in `signatures` (by default the kernel ABI) and `constants` declared as u32
 * (by default the estimator table's kernel codes).
 */
export function assembleKernelSources(
  files: Readonly<Record<string, string>>,
  signatures: Readonly<Record<string, KernelSignature>> = KERNELS,
  constants: Readonly<Record<string, number>> = estimatorConstants(),
): Map<string, KernelSource> {
  // u32 constants every module may use, generated like the bindings (the estimator codes of the kernels).
  const declared = Object.entries(constants).map(([name, value]) => `const ${name}: u32 = ${value}u;`);
  for (const [file, text] of Object.entries(files)) {
    if (HAND_WRITTEN_ABI.test(text.replace(/\/\/.*$/gm, ""))) {
      throw new Error(
        `shaders/${file}.wgsl declares bindings or a Params struct; they are generated from src/kernels.ts`,
      );
    }
  }
  const parsed = new Map(Object.entries(files).map(([name, text]) => [name, parseFile(name, text)]));

  // The text of the snippet `name` ("FILE.NAME", or "NAME" of `file`) that `who` includes.
  const snippetText = (file: string, name: string, who: string): string => {
    const [from, snippetName] = name.includes(".") ? name.split(".") : [file, name];
    const snippet = parsed.get(from)?.sections.find((s) => s.kind === "snippet" && s.name === snippetName);
    if (snippet === undefined) {
      throw new Error(`${who} includes snippet "${snippetName}", not defined in shaders/${from}.wgsl`);
    }
    return snippet.text;
  };

  // The preludes a file's kernels see: those it uses (depth first, each once), then its own (after the
  // snippets it includes).
  const preludes = (file: string, seen: Set<string>, chain: string[]): string[] => {
    if (seen.has(file)) return [];
    if (chain.includes(file)) throw new Error(`shaders: "//! use" cycle ${[...chain, file].join(" -> ")}`);
    const parsedFile = parsed.get(file);
    if (!parsedFile) {
      throw new Error(`shaders/${chain.at(-1)}.wgsl uses "${file}", which is not a shader file`);
    }
    const out = parsedFile.uses.flatMap((used) => preludes(used, seen, [...chain, file]));
    seen.add(file);
    const included = parsedFile.includes.map((name) => snippetText(file, name, `shaders/${file}.wgsl`));
    return [...out, ...included, parsedFile.prelude];
  };

  const kernels = new Map<string, KernelSource>();
  for (const [file, parsedFile] of parsed) {
    const shared = preludes(file, new Set(), []);
    for (const section of parsedFile.sections) {
      if (section.kind !== "kernel") continue;
      const where = `kernel "${section.name}" (shaders/${file}.wgsl)`;
      const earlier = kernels.get(section.name);
      if (earlier) {
        throw new Error(
          `kernel "${section.name}" is defined in shaders/${earlier.file}.wgsl and shaders/${file}.wgsl`,
        );
      }
      const signature = Object.hasOwn(signatures, section.name) ? signatures[section.name] : undefined;
      if (!signature) throw new Error(`${where} is not in the kernel table of src/kernels.ts`);
      const included = section.includes.map((name) => snippetText(file, name, `kernel "${section.name}"`));
      // The directive line stays first so that the section reads as it does in its file.
      const [directive, ...body] = section.text.split("\n");
      const bindings = kernelBindings(section.name, signature);
      kernels.set(section.name, {
        kernel: section.name,
        file,
        code: [...declared, ...shared, ...included, directive, bindings, ...body].join("\n"),
      });
    }
  }
  return kernels;
}
