import type { TenantInfo, TenantUsageSummary } from '@mikro-tenant/core';
import { html, type SafeHtml } from './html.js';

/** What every admin page shows in its header. */
export interface PageFrame {
  /** The page's path prefix. */
  prefix: string;
  /** Where the app itself is. */
  appPath: string;
  /** The tenant this superuser is switched to, if any. */
  switched: string | undefined;
  /** The CSRF token for the page's forms. */
  csrf: string;
}

/** One row of the tenant list: the registry's row, and what the tenancy says of its pending migrations. */
export interface TenantRow extends TenantInfo {
  /** Names of pending migrations; `undefined` when the tenancy cannot tell (or failed to). */
  pending: string[] | undefined;
  /** Its quota and cost (statements over the statistics window); `undefined` when the tenancy cannot tell. */
  usage: TenantUsageSummary | undefined;
}

/** The tenant list page's content. */
export interface ListView {
  rows: TenantRow[];
  /** The id prefix searched for. */
  q: string;
  /** Where this page starts (exclusive), for the "first page" link. */
  after: string | undefined;
  /** The last id of this page when there is a next one. */
  next: string | undefined;
  /** A message after an action. */
  notice: string | undefined;
}

const KIB = 1024;

function bytes(size: number | undefined): string {
  if (size === undefined) {
    return '—';
  }
  if (size < KIB) {
    return `${size} B`;
  }
  return size < KIB * KIB ? `${(size / KIB).toFixed(1)} KiB` : `${(size / KIB / KIB).toFixed(1)} MiB`;
}

function time(date: Date | undefined): SafeHtml | string {
  if (!date || Number.isNaN(date.getTime())) {
    return '—';
  }
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace('T', ' ')}</time>`;
}

function quota(row: TenantRow): string {
  if (row.usage === undefined) {
    return '—';
  }
  return row.usage.quotaBytes === undefined ? 'none' : bytes(row.usage.quotaBytes);
}

function cost(row: TenantRow): SafeHtml | string {
  if (row.usage === undefined) {
    return '—';
  }
  const { queries, queryTimeMs } = row.usage;
  return html`<span title="statements over the statistics window of this process">${queries} q, ${queryTimeMs.toFixed(1)} ms</span>`;
}

function pending(row: TenantRow): SafeHtml | string {
  if (row.pending === undefined) {
    return '—';
  }
  return row.pending.length ? html`<span title="${row.pending.join(', ')}">${row.pending.length}</span>` : '0';
}

function hidden(name: string, value: string): SafeHtml {
  return html`<input type="hidden" name="${name}" value="${value}">`;
}

function switchStatus(frame: PageFrame): SafeHtml {
  if (frame.switched === undefined) {
    return html`<div class="switch" id="switch-status">You see your own data.</div>`;
  }
  return html`<div class="switch active" id="switch-status">
  <span>Switched to tenant <code id="switched-tenant">${frame.switched}</code>: the app shows its data.</span>
  <form method="post" action="${frame.prefix}/switch/clear">${hidden('csrf', frame.csrf)}<button type="submit" class="secondary">Switch back</button></form>
</div>`;
}

/** A whole page: header (with the switch, when there is a frame), content, the page's script. */
export function layout(title: string, prefix: string, frame: PageFrame | undefined, content: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${prefix}/admin.css">
</head>
<body>
<header>
<h1><a href="${prefix}">Tenant admin</a></h1>
${frame ? switchStatus(frame) : ''}
${frame ? html`<a href="${frame.appPath}">Open the app</a>` : ''}
</header>
<main>
${content}
</main>
<script src="${prefix}/admin.js"></script>
</body>
</html>
`.value;
}

/** The tenant list: search, table, pages. */
export function listPage(frame: PageFrame, view: ListView): string {
  const { prefix } = frame;
  const rows = view.rows.map(row => html`<tr>
<td class="id">${row.tenantId}</td>
<td data-label="Size">${bytes(row.sizeBytes)}</td>
<td data-label="Quota">${quota(row)}</td>
<td data-label="Cost" class="cost">${cost(row)}</td>
<td data-label="Created">${time(row.createdAt)}</td>
<td data-label="Modified">${time(row.modifiedAt)}</td>
<td data-label="Schema" class="version" title="${row.schemaVersion ?? ''}">${row.schemaVersion ?? '—'}</td>
<td data-label="Pending">${pending(row)}</td>
<td><div class="actions">
<form method="post" action="${prefix}/switch">${hidden('csrf', frame.csrf)}${hidden('tenant', row.tenantId)}<button type="submit" class="secondary" ${row.tenantId === frame.switched ? html`disabled` : ''}>Switch to</button></form>
<a class="button danger secondary" href="${prefix}/delete?tenant=${encodeURIComponent(row.tenantId)}">Delete…</a>
</div></td>
</tr>`);
  const query = (after: string | undefined): string => {
    const params = new URLSearchParams();
    if (view.q) {
      params.set('q', view.q);
    }
    if (after !== undefined) {
      params.set('after', after);
    }
    const text = params.toString();
    return text ? `${prefix}?${text}` : prefix;
  };
  return layout('Tenants', prefix, frame, html`
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
<form class="search" method="get" action="${prefix}" role="search">
<input type="search" name="q" value="${view.q}" placeholder="Tenant id starts with…" aria-label="Search tenants by id" autocomplete="off">
<button type="submit">Search</button>
</form>
${view.q ? html`<p class="muted" id="search-summary">Tenants whose id starts with <code>${view.q}</code>. <a href="${prefix}">Show all</a></p>` : ''}
${view.rows.length === 0 ? html`<p class="muted" id="no-tenants">No tenants${view.q ? ' match' : view.after === undefined ? ' yet' : ' on this page'}.</p>` : html`<div class="table"><table id="tenants">
<thead><tr><th>Tenant</th><th>Size</th><th>Quota</th><th>Cost (window)</th><th>Created (UTC)</th><th>Modified (UTC)</th><th>Schema version</th><th>Pending migrations</th><th></th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>`}
<nav class="pages">
${view.after === undefined ? html`<span></span>` : html`<a href="${query(undefined)}">« First page</a>`}
${view.next === undefined ? '' : html`<a href="${query(view.next)}" rel="next">Next page »</a>`}
</nav>`);
}

/** Asks to type the tenant's id before deleting it. */
export function confirmDeletePage(frame: PageFrame, tenantId: string, error?: string): string {
  return layout('Delete tenant', frame.prefix, frame, html`
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<div class="card">
<h2>Delete tenant <code>${tenantId}</code>?</h2>
<p>This deletes the tenant and all its data for good. Type its id to confirm.</p>
<form method="post" action="${frame.prefix}/delete" data-confirm="${tenantId}">
${hidden('csrf', frame.csrf)}${hidden('tenant', tenantId)}
<label for="confirm">Tenant id</label>
<input type="text" id="confirm" name="confirm" autocomplete="off" autocapitalize="off" spellcheck="false" required>
<div><button type="submit" class="danger">Delete this tenant</button> <a href="${frame.prefix}">Cancel</a></div>
</form>
</div>`);
}

/** A page that says what went wrong (403, 400, 404...), with a way back when the user may use the admin. */
export function messagePage(prefix: string, frame: PageFrame | undefined, title: string, message: string): string {
  return layout(title, prefix, frame, html`<div class="card"><h2>${title}</h2><p class="error" role="alert">${message}</p>${frame ? html`<p><a href="${prefix}">Back to the tenants</a></p>` : ''}</div>`);
}
