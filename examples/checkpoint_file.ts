// The file side of checkpoints for the command-line examples: the SDK turns models into bytes and back; this
// reads and writes those bytes, with errors that name the file.
import { CheckpointError } from "../mod.ts";

/** Reads a checkpoint file; a missing or unreadable file is a CheckpointError naming it. */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`, { cause: e });
  }
}

/** Writes `bytes` to `path` through a temporary file and a rename, so a crash never leaves half a file. */
export async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.${Deno.pid}.tmp`;
  await Deno.writeFile(temporary, bytes);
  await Deno.rename(temporary, path);
}
