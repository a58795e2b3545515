// The files the command-line examples write (a checkpoint every epoch, a PNG at the end). Each is checked
// before any training, so that a missing permission or directory is reported up front under its flag rather
// than after the work; every write goes through a temporary file and a rename, so an interrupted run never
// leaves half a file, and the temporary files an interrupted run did leave are cleared at the next start.
import { basename, dirname, join } from "node:path";
import { ReinmaxInputError } from "../mod.ts";

/** The temporary file `path` is written through: hidden beside it, named after it and this process. */
function temporaryOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.${Deno.pid}.tmp`);
}

/** Temporary files of `path` left by earlier processes (killed before their rename). */
const STALE = (path: string) => new RegExp(`^\\.${RegExp.escape(basename(path))}\\.\\d+\\.tmp$`);

/**
 * Checks that `path` (the value of `--flag`) can be written — the permission, the directory, that it is not
 * a directory itself — by creating and removing its temporary file, and removes the temporary files that an
 * interrupted run left beside it. Throws a ReinmaxInputError naming the flag, before any work is done.
 */
export async function prepareOutput(flag: string, path: string): Promise<void> {
  const dir = dirname(path);
  const permission = await Deno.permissions.query({ name: "write", path });
  if (permission.state !== "granted") {
    throw new ReinmaxInputError(
      flag,
      `cannot write ${path}: run with --allow-write (or --allow-write=${dir === "." ? "." : dir})`,
    );
  }
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw writeError(flag, path, e);
  }
  if (info?.isDirectory) throw new ReinmaxInputError(flag, `${path} is a directory; expected a file name`);
  try {
    const dirInfo = await Deno.stat(dir);
    if (!dirInfo.isDirectory) throw new ReinmaxInputError(flag, `${dir} is not a directory`);
  } catch (e) {
    if (e instanceof ReinmaxInputError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw new ReinmaxInputError(flag, `the directory ${dir} does not exist (create it first)`, {
        cause: e,
      });
    }
    throw writeError(flag, path, e);
  }
  const temporary = temporaryOf(path);
  try {
    await Deno.writeFile(temporary, new Uint8Array(0));
    await Deno.remove(temporary);
  } catch (e) {
    throw writeError(flag, path, e);
  }
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && STALE(path).test(entry.name)) await Deno.remove(join(dir, entry.name));
  }
}

function writeError(flag: string, path: string, cause: unknown): ReinmaxInputError {
  return new ReinmaxInputError(flag, `cannot write ${path} (${(cause as Error).message})`, { cause });
}

/** Writes `bytes` to `path` through a temporary file and a rename, so a crash never leaves half a file. */
export async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = temporaryOf(path);
  try {
    await Deno.writeFile(temporary, bytes);
    await Deno.rename(temporary, path);
  } catch (e) {
    await Deno.remove(temporary).catch(() => {});
    throw e;
  }
}
