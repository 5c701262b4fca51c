import { readFileSync } from 'node:fs';
import type { Middleware } from 'koa';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/**
 * Serves the browser front end (`public/`: one page, its script and style sheet; no build step) at `/`,
 * under a strict Content-Security-Policy. The files are read once, at start.
 */
export function frontEnd(): Middleware {
  const served = new Map(Object.entries(FILES).map(([path, { file, type }]) =>
    [path, { type, body: readFileSync(new URL(`../public/${file}`, import.meta.url), 'utf8') }]));
  return async (ctx, next) => {
    const file = ctx.method === 'GET' || ctx.method === 'HEAD' ? served.get(ctx.path) : undefined;
    if (!file) {
      return next();
    }
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = file.type;
    ctx.body = file.body;
  };
}
