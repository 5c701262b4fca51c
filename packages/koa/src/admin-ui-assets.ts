/**
 * The admin page's style sheet and script, served as files from the page's own path: the
 * Content-Security-Policy allows no inline style or script.
 */
export const ADMIN_ASSETS: Readonly<Record<string, { type: string; body: string }>> = Object.freeze({
  'admin.css': {
    type: 'text/css; charset=utf-8',
    body: `:root { color-scheme: light; --ink: #1d2330; --muted: #5b6478; --line: #dde1ea; --accent: #2f5bd3; --danger: #b3261e; --bg: #f6f7fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: .75rem 1rem; display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1 1 auto; }
header h1 a { color: inherit; text-decoration: none; }
header a { color: var(--accent); }
main { max-width: 90rem; margin: 0 auto; padding: 1rem; }
.switch { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; padding: .4rem .75rem; border-radius: .5rem; background: #eef2ff; }
.switch.active { background: #fff4d6; border: 1px solid #f0c24b; }
.notice { padding: .6rem .8rem; border-radius: .5rem; background: #e7f6ec; border: 1px solid #9fd5b1; margin-bottom: 1rem; }
.error { padding: .6rem .8rem; border-radius: .5rem; background: #fdecea; border: 1px solid #f1a39d; margin-bottom: 1rem; }
form.search { display: flex; gap: .5rem; margin-bottom: 1rem; }
input[type=search], input[type=text] { flex: 1 1 auto; min-width: 0; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: .4rem; font: inherit; }
button, .button { font: inherit; padding: .4rem .8rem; border-radius: .4rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
button.danger, .button.danger { background: var(--danger); border-color: var(--danger); }
.button.danger.secondary { background: #fff; color: var(--danger); }
button:disabled { opacity: .45; cursor: not-allowed; }
.table { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: .5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .5rem .55rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); white-space: normal; vertical-align: bottom; }
td.version { max-width: 9rem; overflow: hidden; text-overflow: ellipsis; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.actions { display: flex; gap: .4rem; justify-content: flex-end; }
.actions form { margin: 0; }
tr:last-child td { border-bottom: 0; }
nav.pages { display: flex; justify-content: space-between; margin-top: 1rem; gap: 1rem; }
.muted { color: var(--muted); }
.card { background: #fff; border: 1px solid var(--line); border-radius: .5rem; padding: 1rem; max-width: 36rem; }
.card form { display: flex; flex-direction: column; gap: .6rem; }
@media (max-width: 40rem) {
  .table { overflow: visible; }
  table, tbody, tr, td { display: block; }
  thead { display: none; }
  tr { padding: .6rem .2rem; border-bottom: 1px solid var(--line); }
  tr:last-child { border-bottom: 0; }
  td { border: 0; padding: .15rem .7rem; white-space: normal; }
  td.id { font-weight: 600; overflow-wrap: anywhere; }
  td.version { max-width: none; }
  td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); }
  .actions { justify-content: flex-start; padding-top: .3rem; }
}
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
`,
  },
  'admin.js': {
    type: 'text/javascript; charset=utf-8',
    // The server checks the typed id too: this only keeps the button off until it matches.
    body: `for (const form of document.querySelectorAll('form[data-confirm]')) {
  const input = form.querySelector('input[name=confirm]');
  const button = form.querySelector('button[type=submit]');
  const update = () => { button.disabled = input.value !== form.dataset.confirm; };
  input.addEventListener('input', update);
  update();
}
`,
  },
});
