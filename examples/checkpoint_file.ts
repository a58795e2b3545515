// The file side of checkpoints for the command-line examples: the SDK turns models into bytes and back; this
// reads those bytes, with errors that name the file (examples/output_file.ts writes them).
import { CheckpointError } from "../mod.ts";

/** Reads a checkpoint file; a missing or unreadable file is a CheckpointError naming it. */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`, { cause: e });
  }
}
