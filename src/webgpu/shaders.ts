/**
 * Assembles one WGSL module per kernel from the shader files (shaders/*.wgsl, embedded in src/gen/shaders.ts).
 *
 * Each kernel is compiled as its own module so that every kernel can name its bindings after the kernel's
 * arguments at @binding(0..) without clashing with its neighbours, and so that a compile error names one
 * kernel. A file is a prelude (helpers shared by its kernels) followed by sections, marked by directives on
 * lines of their own:
 *
 *   //! use FILE        (prelude) the prelude of shaders/FILE.wgsl comes first (transitively, once)
 *   //! kernel NAME     a section with the bindings, Params struct and entry point NAME of one kernel
 *   //! snippet NAME    a section of helpers that read kernel bindings, pasted where a kernel asks for it
 *   //! include NAME    (in a kernel section) the snippet NAME of the same file is part of this kernel;
 *                       FILE.NAME takes the snippet NAME of shaders/FILE.wgsl (whose prelude the kernel's
 *                       file must `use`)
 * @module
 */

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
  readonly sections: readonly Section[];
}

const DIRECTIVE = /^\/\/!\s*(\w+)\s+(\w+(?:\.\w+)?)\s*$/;

function parseFile(file: string, text: string): ShaderFile {
  const lines = text.split("\n");
  const prelude: string[] = [];
  const uses: string[] = [];
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
      if (current?.kind !== "kernel") throw new Error(`${where}: "//! include" belongs in a kernel section`);
      current.includes.push(name);
      current.lines.push(line);
    } else {
      throw new Error(`${where}: unknown directive "//! ${directive}"`);
    }
  }
  return {
    prelude: prelude.join("\n"),
    uses,
    sections: sections.map((s) => ({
      kind: s.kind,
      name: s.name,
      text: s.lines.join("\n"),
      includes: s.includes,
    })),
  };
}

/** Every kernel defined by `files` (WGSL sources by file name), each as a self-contained module. */
export function assembleKernelSources(files: Readonly<Record<string, string>>): Map<string, KernelSource> {
  const parsed = new Map(Object.entries(files).map(([name, text]) => [name, parseFile(name, text)]));

  // The preludes a file's kernels see: those it uses (depth first, each once), then its own.
  const preludes = (file: string, seen: Set<string>, chain: string[]): string[] => {
    if (seen.has(file)) return [];
    if (chain.includes(file)) throw new Error(`shaders: "//! use" cycle ${[...chain, file].join(" -> ")}`);
    const parsedFile = parsed.get(file);
    if (!parsedFile) {
      throw new Error(`shaders/${chain.at(-1)}.wgsl uses "${file}", which is not a shader file`);
    }
    const out = parsedFile.uses.flatMap((used) => preludes(used, seen, [...chain, file]));
    seen.add(file);
    return [...out, parsedFile.prelude];
  };

  const kernels = new Map<string, KernelSource>();
  for (const [file, parsedFile] of parsed) {
    const shared = preludes(file, new Set(), []);
    for (const section of parsedFile.sections) {
      if (section.kind !== "kernel") continue;
      const earlier = kernels.get(section.name);
      if (earlier) {
        throw new Error(
          `kernel "${section.name}" is defined in shaders/${earlier.file}.wgsl and shaders/${file}.wgsl`,
        );
      }
      const included = section.includes.map((name) => {
        const [from, snippetName] = name.includes(".") ? name.split(".") : [file, name];
        const snippet = parsed.get(from)?.sections.find((s) =>
          s.kind === "snippet" && s.name === snippetName
        );
        if (snippet === undefined) {
          throw new Error(
            `kernel "${section.name}" includes snippet "${snippetName}", not defined in shaders/${from}.wgsl`,
          );
        }
        return snippet.text;
      });
      kernels.set(section.name, {
        kernel: section.name,
        file,
        code: [...shared, ...included, section.text].join("\n"),
      });
    }
  }
  return kernels;
}
