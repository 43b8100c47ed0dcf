/**
 * The Chromium the browser tests drive, brought by `npm install`: the headless build that @sparticuz/chromium
 * ships inside its package (x86-64 Linux, brotli-compressed), with the libraries it links that a bare Debian
 * lacks (NSS, NSPR, expat) and a font, both shipped in the same package. Nothing is looked up on the machine: no
 * PATH search, no system browser, no system fonts; only glibc and libgcc_s, which every Debian has.
 *
 * The first call unpacks the package's files into node_modules/.cache/canary-chromium-<version> (about 205 MB,
 * a few seconds); later calls, and other test processes, reuse it. The unpacking happens in a private folder that
 * is renamed into place, so a process never sees a half-written browser.
 */
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';

export interface BundledChromium {
  /** The browser binary, for playwright-core's `executablePath`. */
  executablePath: string;
  /** Environment the browser needs (its libraries and fonts), for playwright-core's `env` on top of process.env. */
  env: { LD_LIBRARY_PATH: string; FONTCONFIG_PATH: string };
}

const PACKAGE = '@sparticuz/chromium';

export async function bundledChromium(): Promise<BundledChromium> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `${PACKAGE} ships a Chromium for Linux x86-64; this machine is ${process.platform}/${process.arch}`,
    );
  // The package's entry is <package>/build/index.js; its compressed files are in <package>/bin.
  const root = resolve(dirname(createRequire(import.meta.url).resolve(PACKAGE)), '..');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const dir = join(root, '..', '..', '.cache', `canary-chromium-${version}`);
  const chromium = {
    executablePath: join(dir, 'chromium'),
    env: { LD_LIBRARY_PATH: join(dir, 'lib'), FONTCONFIG_PATH: dir },
  };
  if (existsSync(dir)) return chromium; // only a complete unpacking is ever renamed to dir
  const work = `${dir}.${process.pid}.${Date.now()}`;
  try {
    mkdirSync(work, { recursive: true });
    const bin = join(root, 'bin');
    await pipeline(
      createReadStream(join(bin, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(join(work, 'chromium'), { mode: 0o755 }),
    );
    // lib/: the shared libraries; fonts/: Open Sans.
    untar(brotliDecompressSync(readFileSync(join(bin, 'al2023.tar.br'))), work);
    untar(brotliDecompressSync(readFileSync(join(bin, 'fonts.tar.br'))), work);
    // The package's fonts.conf names the folders of serverless platforms; this one names the unpacked fonts only.
    writeFileSync(
      join(work, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, 'fonts')}</dir>\n  <cachedir>${join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
    );
    renameSync(work, dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    // Another process unpacked it first: use theirs.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
  return chromium;
}

/** Writes the regular files and folders of a POSIX (ustar) archive under `into`; any other entry is refused. */
function untar(archive: Buffer, into: string): void {
  const text = (from: number, length: number) =>
    archive.toString('utf8', from, from + length).replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= archive.length; ) {
    const name = text(at, 100);
    if (name === '') break; // the two zero blocks that end the archive
    const prefix = text(at + 345, 155);
    const path = join(into, prefix ? `${prefix}/${name}` : name);
    if (!path.startsWith(`${into}/`)) throw new Error(`archive entry ${name} would leave ${into}`);
    const size = Number.parseInt(text(at + 124, 12).trim() || '0', 8);
    const mode = Number.parseInt(text(at + 100, 8).trim() || '644', 8);
    const type = text(at + 156, 1);
    if (type === '5') mkdirSync(path, { recursive: true });
    else if (type === '0' || type === '') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, archive.subarray(at + 512, at + 512 + size), { mode });
    } else throw new Error(`archive entry ${name} has type ${type}: only files and folders are unpacked`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
}
