import type { Middleware } from 'koa';

/** Parses JSON request bodies (up to 64 KiB) into `ctx.request.body`; bad JSON answers 400. */
export function jsonBody(limit = 64 * 1024): Middleware {
  return async (ctx, next) => {
    if (ctx.is('application/json') && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method)) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of ctx.req) {
        size += (chunk as Buffer).length;
        if (size > limit) {
          ctx.status = 413;
          ctx.body = { error: { code: 'ERR_BODY_TOO_LARGE', message: `Request bodies are limited to ${limit} bytes.` } };
          return;
        }
        chunks.push(chunk as Buffer);
      }
      try {
        (ctx.request as { body?: unknown }).body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        ctx.status = 400;
        ctx.body = { error: { code: 'ERR_BAD_JSON', message: 'The request body is not valid JSON.' } };
        return;
      }
    }
    await next();
  };
}
