// The notes front end: plain DOM over the JSON API. Text from the server is only ever set as textContent.
const $ = id => document.getElementById(id);

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    const error = new Error(data?.error?.message ?? `${res.status} ${res.statusText}`);
    error.status = res.status;
    throw error;
  }
  return data;
}

function showError(error) {
  $('error').textContent = error ? error.message : '';
  $('error').hidden = !error;
}

function renderNotes(notes) {
  const list = $('notes');
  list.replaceChildren(...notes.map(note => {
    const item = document.createElement('li');
    item.className = 'note';
    item.dataset.id = String(note.id);
    const text = document.createElement('p');
    text.className = 'note-text';
    text.textContent = note.text;
    const meta = document.createElement('span');
    meta.className = 'muted';
    meta.textContent = `by ${note.author}`;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary danger';
    remove.textContent = 'Delete';
    remove.setAttribute('aria-label', `Delete note ${note.id}`);
    remove.addEventListener('click', () => run(async () => {
      await api('DELETE', `/notes/${note.id}`);
      await loadNotes();
    }));
    const footer = document.createElement('div');
    footer.className = 'row';
    footer.append(meta, remove);
    item.append(text, footer);
    return item;
  }));
  $('note-count').textContent = notes.length ? `(${notes.length})` : '';
  $('no-notes').hidden = notes.length > 0;
}

async function loadNotes() {
  renderNotes((await api('GET', '/notes')).notes);
}

async function refresh() {
  let me = null;
  try {
    me = await api('GET', '/me');
  } catch (error) {
    if (error.status !== 401) throw error;
  }
  $('auth').hidden = me !== null;
  $('account').hidden = me === null;
  $('notes-section').hidden = me === null;
  $('switch-banner').hidden = !me?.switchedTenant;
  if (!me) {
    renderNotes([]);
    return;
  }
  $('username').textContent = me.username;
  $('admin-link').hidden = !me.isSuperuser;
  $('switched-tenant').textContent = me.switchedTenant ?? '';
  await loadNotes();
}

async function run(work) {
  try {
    showError(null);
    await work();
  } catch (error) {
    showError(error);
  }
}

$('auth-form').addEventListener('submit', event => {
  event.preventDefault();
  const username = $('auth-username').value;
  const password = $('auth-password').value;
  run(async () => {
    if (event.submitter?.value === 'signup') {
      await api('POST', '/signup', { username, password });
    }
    await api('POST', '/login', { username, password });
    $('auth-password').value = '';
    await refresh();
  });
});

$('note-form').addEventListener('submit', event => {
  event.preventDefault();
  run(async () => {
    await api('POST', '/notes', { text: $('note-text').value });
    $('note-text').value = '';
    await loadNotes();
  });
});

$('logout').addEventListener('click', () => run(async () => {
  await api('POST', '/logout');
  await refresh();
}));

run(refresh);
