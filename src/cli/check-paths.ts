/**
 * Checks of the paths a command is given, before it starts work: an error names the path as the user typed it and
 * what is wrong ("input folder ../x does not exist"), never a stack trace. Shared by every command that reads files.
 */
import { stat } from 'node:fs/promises';
import { UsageError } from './command-line.ts';

async function kindOf(path: string): Promise<'file' | 'folder' | 'other' | 'missing' | 'unreadable'> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
}

/**
 * Refuses a path that is not an existing folder.
 * @param path - As given on the command line.
 * @param what - What it is for, e.g. `input folder`.
 * @throws UsageError "input folder ../x does not exist" / "... is not a folder" / "... cannot be read".
 */
export async function requireFolder(path: string, what: string): Promise<void> {
  const kind = await kindOf(path);
  if (kind === 'folder') return;
  if (kind === 'missing') throw new UsageError(`${what} ${path} does not exist`);
  if (kind === 'unreadable') throw new UsageError(`${what} ${path} cannot be read`);
  throw new UsageError(`${what} ${path} is not a folder`);
}

/**
 * Refuses a path that is not an existing file.
 * @param path - As given on the command line.
 * @param what - What it is for, e.g. `input file`.
 * @throws UsageError "input file x.json does not exist" / "... is a folder, not a file" / "... cannot be read".
 */
export async function requireFile(path: string, what: string): Promise<void> {
  const kind = await kindOf(path);
  if (kind === 'file') return;
  if (kind === 'missing') throw new UsageError(`${what} ${path} does not exist`);
  if (kind === 'folder') throw new UsageError(`${what} ${path} is a folder, not a file`);
  if (kind === 'unreadable') throw new UsageError(`${what} ${path} cannot be read`);
  throw new UsageError(`${what} ${path} is not a regular file`);
}
