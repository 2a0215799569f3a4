// Backups from the browser: "Back up now", "Verify", "Restore". Every request that changes
// something carries the CSRF token the server handed out with /api/actions; progress
// arrives as server-sent events and is shown in the jobs panel (an aria-live region).
'use strict';

async function loadActions() {
  try {
    const r = await fetch('api/actions', { credentials: 'same-origin', cache: 'no-store' });
    state.actions = r.ok ? await r.json() : { enabled: false, nodes: [] };
  } catch (e) {
    state.actions = { enabled: false, nodes: [] };
  }
  for (const j of state.actions.running || []) { state.busy[j.kind] = true; follow(j.id, `${j.kind} ${j.what}`, j.kind); }
  if (state.route === 'overview') renderOverview();
  if (state.route === 'backups') loadBackups();
}

async function startAction(kind, body, title) {
  if (state.busy[kind]) return;
  state.busy[kind] = true;
  const entry = jobEntry(title);
  try {
    const r = await fetch('api/actions/' + kind, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'content-type': 'application/json', 'x-csrf-token': state.actions.csrf },
      body: JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(text.trim() || `HTTP ${r.status}`);
    follow(JSON.parse(text).id, title, kind, entry);
  } catch (e) {
    finish(entry, kind, false, e.message);
  }
}

function jobEntry(title) {
  const li = el('li', { class: 'job' });
  const bar = el('progress', { max: '1', 'aria-label': title });
  li.append(el('strong', {}, title), ' ', el('span', { class: 'job-status' }, 'starting…'), bar);
  $('#jobs').hidden = false;
  $('#jobs ul').prepend(li);
  return li;
}

function finish(entry, kind, ok, message) {
  state.busy[kind] = false;
  entry.querySelector('progress').remove();
  const s = entry.querySelector('.job-status');
  s.textContent = (ok ? 'done: ' : 'failed: ') + message;
  entry.classList.add(ok ? 'job-ok' : 'job-failed');
  if (state.route === 'backups') loadBackups();
  if (state.route === 'overview') renderOverview();
}

// Follows a job's events until its result; the browser reconnects an interrupted stream.
function follow(id, title, kind, entry) {
  entry = entry || jobEntry(title);
  const s = entry.querySelector('.job-status');
  const bar = entry.querySelector('progress');
  const es = new EventSource(`api/actions/${enc(id)}/events`);
  es.addEventListener('progress', (ev) => {
    const p = JSON.parse(ev.data);
    s.textContent = p.total ? `${p.phase}: ${bytes(p.done)} of ${bytes(p.total)}` : `${p.phase}${p.done ? ': ' + bytes(p.done) : ''}`;
    if (p.total) { bar.max = p.total; bar.value = Math.min(p.done, p.total); } else bar.removeAttribute('value');
  });
  es.addEventListener('note', (ev) => { s.textContent = JSON.parse(ev.data).message; });
  es.addEventListener('done', (ev) => {
    es.close();
    const d = JSON.parse(ev.data);
    finish(entry, kind, d.ok, d.message);
  });
  es.onerror = () => { if (es.readyState === EventSource.CLOSED) finish(entry, kind, false, 'the event stream closed'); };
}

// The verify and restore forms under the backups table.
function backupForms(snaps) {
  const wrap = el('div', { class: 'forms' });
  const v = el('form', { class: 'toolbar', id: 'verify-form', 'aria-label': 'Verify the repository' });
  const pct = el('input', { type: 'number', id: 'verify-pct', min: '0', max: '100', value: '10', inputmode: 'numeric' });
  const vl = el('label', { for: 'verify-pct' }, 'Read');
  const go = el('button', { type: 'submit' }, 'Verify (read 10 %)');
  pct.addEventListener('input', () => { go.textContent = `Verify (read ${Math.max(0, Math.min(100, Number(pct.value) || 0))} %)`; });
  v.append(vl, pct, el('span', {}, '% of the data'), go);
  v.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Math.max(0, Math.min(100, Number(pct.value) || 0));
    startAction('verify', { read_percent: n }, `Verify (read ${n} %)`);
  });
  const r = el('form', { class: 'restore', id: 'restore-form', 'aria-label': 'Restore a snapshot' });
  const sel = el('select', { id: 'restore-snap', required: '' });
  sel.append(...snaps.slice().reverse().map((s) => el('option', { value: s.name }, s.name)));
  const target = el('input', { id: 'restore-target', required: '', placeholder: '/srv/restore/znn-a', autocomplete: 'off' });
  const confirm = el('input', { id: 'restore-confirm', autocomplete: 'off' });
  const field = (label, input, hint) => {
    const d = el('div', { class: 'field' });
    d.append(el('label', { for: input.id }, label), input);
    if (hint) d.append(el('small', {}, hint));
    return d;
  };
  r.append(el('h2', {}, 'Restore a snapshot'),
    field('Snapshot', sel),
    field('Into directory (on the host)', target, 'A new directory; a node\u2019s live data dir only with the confirmation below.'),
    field('Confirm (type the node\u2019s name)', confirm, 'Needed only to restore over a node\u2019s data dir; the node is stopped and started by its service.'),
    el('button', { type: 'submit' }, 'Restore'));
  r.addEventListener('submit', (ev) => {
    ev.preventDefault();
    startAction('restore', { snapshot: sel.value, target: target.value, confirm: confirm.value || null },
      `Restore ${sel.value} to ${target.value}`);
  });
  wrap.append(v, r);
  return wrap;
}
