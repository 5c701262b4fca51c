import type { Context } from 'koa';

/** Largest form body the admin page reads (its forms send a few short fields). */
const LIMIT = 16 * 1024;

/**
 * The fields of a URL-encoded form POST, or `undefined` when the body is not such a form or exceeds 16 KiB.
 * A body parser mounted earlier may have read the body already: its parsed object is used then.
 */
export async function readForm(ctx: Context): Promise<Map<string, string> | undefined> {
  const parsed = (ctx.request as { body?: unknown }).body;
  if (parsed !== null && typeof parsed === 'object') {
    return new Map(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  if (!ctx.is('application/x-www-form-urlencoded')) {
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    // Read on to the end (dropping it): answering before the request is read can cut the connection.
    if (size <= LIMIT) {
      chunks.push(chunk as Buffer);
    }
  }
  if (size > LIMIT) {
    return undefined;
  }
  return new Map(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}
