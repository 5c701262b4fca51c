import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
const { app, close, strategy, database } = await createApp();
console.log(`koa-notes on ${strategy}, ${database}`);
const server = app.listen(port, () => {
  console.log(`koa-notes listening on http://localhost:${port}`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => void close().then(() => process.exit(0))));
}
