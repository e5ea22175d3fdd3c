import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputError } from './errors.js';

/** Write a file so readers see either the old content or the new, never a torn one. */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, content);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw cannotWrite(path, err);
  }
}

function cannotWrite(path: string, err: unknown): OutputError {
  const code = (err as NodeJS.ErrnoException).code;
  return new OutputError(`cannot write ${path}: ${code ?? (err as Error).message}`);
}

/**
 * Publish a set of files as one directory: stage them in a sibling temp directory, then swap it
 * into place, so a reader (or a crash) never sees half of a run's artifacts.
 */
export async function writeDirectoryAtomic(dir: string, files: ReadonlyMap<string, string | Uint8Array>): Promise<void> {
  const parent = dirname(dir);
  const staged = join(parent, `.${basename(dir)}.${process.pid}.${Date.now()}.staged`);
  try {
    await mkdir(staged, { recursive: true });
  } catch (err) {
    // Covers the parent too: mkdir -p of the staging dir creates it.
    throw cannotWrite(dir, err);
  }
  try {
    for (const [name, content] of files) await writeFile(join(staged, name), content);
    await replaceDirectory(staged, dir);
  } finally {
    await rm(staged, { recursive: true, force: true });
  }
}

/**
 * Swap a finished directory into `dir`: the old one (if any) is moved aside first and restored if
 * the swap fails, so `dir` is always either the old set of files or the new one.
 */
export async function replaceDirectory(staged: string, dir: string): Promise<void> {
  const retired = join(dirname(dir), `.${basename(dir)}.${process.pid}.${Date.now()}.retired`);
  try {
    let hadPrevious = true;
    try {
      await rename(dir, retired);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      hadPrevious = false;
    }
    try {
      await rename(staged, dir);
    } catch (err) {
      if (hadPrevious) await rename(retired, dir);
      throw err;
    }
    if (hadPrevious) await rm(retired, { recursive: true, force: true });
  } catch (err) {
    throw cannotWrite(dir, err);
  }
}
