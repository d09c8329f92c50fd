/**
 * Input decoding: turns files, `.gz` files and stdin into streams of text lines with constant memory.
 *
 * Owns line splitting (`\n` and `\r\n`, UTF-8 across chunk boundaries, an overlong partial line cut at 64 KiB),
 * gzip detection by magic bytes, and the one-line "cannot read FILE: why" errors. What a line means is not decided
 * here: the producer validates lines with the consumer's parser.
 */
import * as fs from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';
import { describeError, WellwatchError } from '../../lambdas/core/errors';

/** A named stream of lines: `lines` yields single lines or arrays of lines (cheaper per line). */
export interface LineSource {
  /** Name used in `name:line` reports, e.g. the file path or `stdin`. */
  readonly name: string;
  readonly lines: AsyncIterable<string | readonly string[]> | Iterable<string | readonly string[]>;
}

/** An input opened by {@link openInput}, with progress information. */
export interface InputSource extends LineSource {
  /** Size in bytes on disk (compressed size for gzip); undefined for stdin. */
  readonly size: number | undefined;
  /** Bytes consumed so far (compressed bytes for gzip). */
  bytesRead(): number;
}

/** Longest partial line kept in memory; a longer line is cut here (the parser refuses it as too long anyway). */
const MAX_PENDING_LINE = 64 * 1024;

/**
 * Splits a byte stream into lines, yielding arrays (one per chunk) with `\r\n` and `\n` handled.
 *
 * Memory stays flat: one chunk plus at most {@link MAX_PENDING_LINE} characters of a partial line.
 *
 * @example
 * for await (const lines of linesOf(fs.createReadStream('a.csv'))) for (const l of lines) handle(l);
 */
export async function* linesOf(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let overlong = false;
  for await (const chunk of chunks) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let from = 0;
    const out: string[] = [];
    for (;;) {
      const nl = text.indexOf('\n', from);
      if (nl < 0) break;
      let line = rest.length > 0 ? rest + text.slice(from, nl) : text.slice(from, nl);
      rest = '';
      if (overlong) {
        line = line.slice(0, MAX_PENDING_LINE);
        overlong = false;
      }
      out.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      from = nl + 1;
    }
    if (from < text.length && !overlong) {
      rest += text.slice(from);
      if (rest.length > MAX_PENDING_LINE) {
        rest = rest.slice(0, MAX_PENDING_LINE);
        overlong = true;
      }
    }
    if (out.length > 0) yield out;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [rest.charCodeAt(rest.length - 1) === 13 ? rest.slice(0, -1) : rest];
}

/** Passes chunks through, gunzipping when the stream starts with the gzip magic (1f 8b). */
async function* gunzipIfNeeded(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head: Buffer = first.value;
  const all = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  };
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield* all();
    return;
  }
  const gunzip = pipeline(Readable.from(all()), zlib.createGunzip(), () => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/**
 * Opens a file (plain or gzip, detected by its magic bytes) or stdin (`-`) as a streamed {@link InputSource}.
 *
 * @throws WellwatchError naming the file when it cannot be read (missing, a directory, no permission).
 * @example
 * const input = openInput('readings.csv.gz', process.stdin);
 * const stats = await produce([input], { streamName, putRecords }); // produce: producer.ts
 */
export function openInput(file: string, stdin: NodeJS.ReadableStream): InputSource {
  let read = 0;
  const counted = async function* (stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      read += buf.length;
      yield buf;
    }
  };
  if (file === '-') {
    return { name: 'stdin', size: undefined, bytesRead: () => read, lines: linesOf(gunzipIfNeeded(counted(stdin as AsyncIterable<Buffer>))) };
  }
  let size: number;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new WellwatchError(`cannot read ${file}: it is a directory`);
    size = st.size;
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    if (e instanceof WellwatchError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : describeError(e);
    throw new WellwatchError(`cannot read ${file}: ${why}`);
  }
  const lines = (async function* () {
    try {
      yield* linesOf(gunzipIfNeeded(counted(fs.createReadStream(file, { highWaterMark: 256 * 1024 }))));
    } catch (e) {
      throw new WellwatchError(`cannot read ${file}: ${describeError(e)}`, { cause: e });
    }
  })();
  return { name: file, size, bytesRead: () => read, lines };
}
