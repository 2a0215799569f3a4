// The dashboard's only script: routes, polling, and DOM built with textContent (node names
// come from config files and must never be parsed as HTML). Charts arrive as server-rendered
// SVG fragments: one chart code base, shared with `nodewarden report --html`.
'use strict';

const POLL_MS = 2000;
const SECTION_MS = 10000;
const TRENDS_MS = 5000;
const state = { nodes: [], trends: {}, window: 900, route: 'overview', node: null, range: 0, lastSection: 0,
  actions: { enabled: false, nodes: [] }, busy: {} };

const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, text) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
const count = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
const age = (s) => {
  if (s == null || !isFinite(s)) return '–';
  s = Math.round(s);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
  return Math.floor(s / 86400) + 'd' + String(Math.floor((s % 86400) / 3600)).padStart(2, '0') + 'h';
};
const bytes = (n) => {
  if (n == null) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i && n < 100 ? n.toFixed(1) : Math.round(n)) + ' ' + u[i];
};
const enc = encodeURIComponent;

async function fetchOk(url) {
  const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

function health(n) {
  return { ok: ['ok', 'synced'], warning: ['warn', 'behind'], critical: ['crit', 'problem'] }[n.health] || ['unknown', 'unknown'];
}

// How bad a node's state is: the overview shows trouble first.
function standing(n) {
  if (!n.samples) return ['unknown', 5];
  if (!n.rpc_up) return ['down', 0];
  if (n.fork_detected) return ['forked', 1];
  if (n.stalled) return ['stalled', 2];
  if (n.synced) return ['synced', 6];
  return ['syncing', n.health === 'critical' ? 3 : 4];
}

const short = (s) => {
  if (s == null || !isFinite(s)) return '–';
  s = Math.round(s);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  return age(s);
};

function card(n) {
  const [cls, word] = health(n);
  const c = el('article', { class: 'card ' + cls, 'aria-labelledby': 'card-' + n.name, 'data-node': n.name });
  const h = el('h2');
  const a = el('a', { href: '#/node/' + enc(n.name), id: 'card-' + n.name, 'data-focus': 'link:' + n.name }, n.name);
  h.append(a, el('span', { class: 'badge' }, n.health_reason || word));
  c.append(h, el('div', { class: 'kind' }, `${n.kind} · ${n.client_version || n.url}`));
  const target = n.last_target ?? n.target;
  const pct = n.current != null && target ? Math.min(100, (n.current / target) * 100) : null;
  const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-label': 'sync progress',
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': pct == null ? '0' : pct.toFixed(2) });
  bar.append(el('span', { style: `width:${pct == null ? 0 : pct}%` }));
  c.append(bar);
  const dl = el('dl');
  const row = (k, v, cls) => dl.append(el('dt', {}, k), el('dd', cls ? { class: cls } : {}, v));
  if (!n.ok) {
    c.append(el('p', { class: 'alert' }, n.error || 'not polled yet'));
  } else {
    row('height', `${count(n.current)} / ${count(target)}${pct == null ? '' : ' (' + pct.toFixed(2) + '%)'}`);
    row('state', (n.synced ? 'synced' : n.state || '–'));
    row('rate', n.rate_blocks_per_second == null ? '–' : n.rate_blocks_per_second.toFixed(1) + ' blocks/s');
    // A stalled node has no honest ETA: it says since when and where it stopped instead.
    if (n.stalled) {
      row('ETA', `stalled ${short(n.stalled_for_seconds)} at ${count(n.stall_height)}`, 'alert stall');
    } else if (!n.synced && n.eta_stalled) {
      row('ETA', 'stalled', 'alert stall');
    } else if (!n.synced) {
      const range = n.eta_low_seconds != null ? ` (${age(n.eta_low_seconds)}–${n.eta_high_seconds == null ? '?' : age(n.eta_high_seconds)})` : '';
      row('ETA', age(n.eta_seconds) + range);
    }
    row('peers', n.peers == null ? 'unknown' : String(n.peers));
    row('head age', age(n.head_age_seconds));
  }
  if (n.process) {
    row('CPU', n.process.cpu_percent == null ? '–' : n.process.cpu_percent.toFixed(0) + '%');
    row('RSS', bytes(n.process.rss_bytes));
  }
  if (n.backup_age_seconds != null) row('last backup', age(n.backup_age_seconds) + ' ago');
  c.append(dl);
  const t = state.trends[n.name];
  // The charts poll less often than the cards: both must agree the peers are gone.
  if (t && t.peers_lost && n.peers === 0) {
    const since = (Date.now() - t.peers_lost.since_ms) / 1000;
    c.append(el('p', { class: 'alert peers-lost' }, `lost all ${t.peers_lost.had} peers ${short(since)} ago`));
  }
  if (n.process && n.memory_exhaustion_seconds != null) {
    c.append(el('p', { class: 'alert' }, `memory grows ${bytes(n.memory_growth_bytes_per_second * 3600)}/h: runs out in ${age(n.memory_exhaustion_seconds)}`));
  }
  const charts = el('div', { class: 'spark' });
  // Server-rendered by the report's chart code; node names inside are escaped there.
  if (t) charts.innerHTML = t.height_svg + t.rate_svg;
  c.append(charts);
  if (state.actions.enabled && state.actions.nodes.includes(n.name)) {
    const b = el('button', { type: 'button', class: 'act', 'data-focus': 'backup:' + n.name,
      'aria-label': `Back up ${n.name} now` }, 'Back up now');
    b.disabled = state.busy.backup;
    b.addEventListener('click', () => startAction('backup', { node: n.name }, `Backing up ${n.name}`));
    c.append(b);
  }
  return c;
}

function renderSummary(nodes) {
  const counts = { synced: 0, syncing: 0, stalled: 0, down: 0, forked: 0 };
  for (const n of nodes) { const [k] = standing(n); if (k in counts) counts[k]++; }
  const ul = $('#summary');
  ul.replaceChildren(...Object.entries(counts).map(([k, v]) =>
    el('li', { class: 'sum-' + k + (v && k !== 'synced' && k !== 'syncing' ? ' bad' : '') }, `${v} ${k}`)));
}

function renderOverview() {
  const cards = $('#cards');
  // Cards are rebuilt on every poll: keep the keyboard where it was.
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.focus : null;
  const nodes = state.nodes.slice().sort((a, b) => standing(a)[1] - standing(b)[1] || a.name.localeCompare(b.name));
  renderSummary(nodes);
  cards.replaceChildren(...nodes.map(card));
  if (!state.nodes.length) cards.append(el('p', {}, 'No nodes configured.'));
  if (focused) { const f = cards.querySelector(`[data-focus="${CSS.escape(focused)}"]`); if (f) f.focus(); }
}

async function loadTrends() {
  try {
    state.trends = await (await fetchOk(`api/trends?window=${state.window}`)).json();
    if (state.route === 'overview') renderOverview();
  } catch (e) { /* the poll reports connectivity */ }
}

async function poll() {
  try {
    state.nodes = await (await fetchOk('api/nodes')).json();
    $('#status').textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (state.route === 'overview') renderOverview();
    if (state.route === 'node' && Date.now() - state.lastSection > SECTION_MS) loadSection();
    fillSelects();
  } catch (e) {
    $('#status').textContent = 'offline: ' + e.message;
  }
}

async function loadSection() {
  const name = state.node;
  state.lastSection = Date.now();
  const q = state.range ? `?last=${state.range}` : '';
  try {
    const html = await (await fetchOk(`api/nodes/${enc(name)}/section${q}`)).text();
    if (state.node === name) $('#node-body').innerHTML = html;
  } catch (e) {
    $('#node-body').replaceChildren(el('p', { class: 'alert' }, e.message));
  }
}

function fillSelects() {
  for (const [sel, idx] of [['#ab-a', 0], ['#ab-b', 1]]) {
    const s = $(sel);
    if (s.options.length === state.nodes.length) continue;
    const keep = s.value;
    s.replaceChildren(...state.nodes.map((n) => el('option', { value: n.name }, n.name)));
    s.value = keep || (state.nodes[idx] || state.nodes[0] || {}).name || '';
  }
}

async function compare(ev) {
  if (ev) ev.preventDefault();
  const a = $('#ab-a').value, b = $('#ab-b').value;
  if (!a || !b) return;
  $('#ab-body').replaceChildren(el('p', {}, 'Comparing…'));
  try {
    $('#ab-body').innerHTML = await (await fetchOk(`api/compare?a=${enc(a)}&b=${enc(b)}`)).text();
  } catch (e) {
    $('#ab-body').replaceChildren(el('p', { class: 'alert' }, e.message));
  }
}

async function loadBackups() {
  const body = $('#backups-body');
  try {
    const r = await fetch('api/snapshots', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 404) { body.replaceChildren(el('p', {}, 'No backup repository is configured.')); return; }
    if (!r.ok) throw new Error(`api/snapshots: HTTP ${r.status}`);
    const snaps = await r.json();
    const now = Date.now() / 1000;
    const status = el('p', { class: 'verify' }, 'Repository not verified yet.');
    let checked = null;
    const v = await fetch('api/verify', { credentials: 'same-origin', cache: 'no-store' });
    if (v.ok) {
      checked = await v.json();
      const when = age(now - checked.checked_ms / 1000) + ' ago';
      const what = checked.read_data ? `Data read (${checked.packs_read} of ${checked.packs} packs)` : 'Structure';
      status.textContent = checked.ok
        ? `${what} verified ${when}: OK (${checked.snapshots} snapshots, ${checked.packs} packs, ${count(checked.chunks)} chunks).`
        : `${what} verified ${when}: ${checked.problems.length} problem(s): ${checked.problems.slice(0, 3).join('; ')}`;
      if (!checked.ok) status.classList.add('alert');
    }
    const t = el('table');
    const head = el('tr');
    for (const h of ['snapshot', 'node', 'height', 'size', 'age', 'signed', 'verified']) head.append(el('th', { scope: 'col' }, h));
    t.append(head);
    for (const s of snaps.slice().reverse()) {
      const tr = el('tr');
      const when = Date.parse(s.time) / 1000;
      // A snapshot is covered by the last verify when it existed before that verify ran.
      const damaged = checked && (checked.damaged || []).some((d) => d.startsWith(s.name + ':'));
      const verified = !checked || checked.checked_ms / 1000 < when ? 'not yet' : damaged ? 'DAMAGED' : checked.read_data ? 'OK (data)' : 'OK';
      for (const v of [s.name, s.node, count(s.height), bytes(s.size_bytes), age(now - when), s.signed ? 'yes' : 'no', verified]) tr.append(el('td', {}, v));
      t.append(tr);
    }
    const wrap = el('div', { class: 'table-wrap' });
    wrap.append(t);
    const parts = [status, snaps.length ? wrap : el('p', {}, 'The repository has no snapshots yet.')];
    if (state.actions.enabled) parts.push(backupForms(snaps));
    else parts.push(el('p', { class: 'hint' }, state.actions.reason || 'Actions are off.'));
    // Rebuilding would throw away what the operator is typing.
    if (body.contains(document.activeElement) && document.activeElement.matches('input, select')) {
      body.replaceChildren(...parts.slice(0, 2), body.querySelector('.forms') || parts[2]);
    } else body.replaceChildren(...parts);
  } catch (e) {
    body.replaceChildren(el('p', { class: 'alert' }, e.message));
  }
}

function route() {
  const hash = location.hash || '#/';
  const m = hash.match(/^#\/node\/(.+)$/);
  state.route = m ? 'node' : hash === '#/ab' ? 'ab' : hash === '#/backups' ? 'backups' : 'overview';
  for (const v of ['overview', 'node', 'ab', 'backups']) $('#view-' + v).hidden = v !== state.route;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.route === state.route) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (m) {
    state.node = decodeURIComponent(m[1]);
    $('#h-node').textContent = state.node;
    const d = $('#downloads');
    d.replaceChildren();
    for (const [file, label] of [['samples.csv', 'CSV'], ['report.html', 'HTML report'], ['bundle.tar.zst', 'bundle']]) {
      d.append(el('a', { href: `api/nodes/${enc(state.node)}/${file}`, download: `${state.node}-${file}` }, label));
    }
    $('#node-body').replaceChildren(el('p', {}, 'Loading…'));
    loadSection();
  }
  if (state.route === 'backups') loadBackups();
  if (state.route === 'overview') renderOverview();
  $('#main').focus({ preventScroll: true });
}

for (const b of document.querySelectorAll('[data-window]')) {
  b.addEventListener('click', () => {
    state.window = Number(b.dataset.window);
    for (const o of document.querySelectorAll('[data-window]')) o.setAttribute('aria-pressed', String(o === b));
    loadTrends();
  });
}
for (const b of document.querySelectorAll('[data-range]')) {
  b.addEventListener('click', () => {
    state.range = Number(b.dataset.range);
    for (const o of document.querySelectorAll('[data-range]')) o.setAttribute('aria-pressed', String(o === b));
    loadSection();
  });
}
$('#ab-form').addEventListener('submit', compare);
window.addEventListener('hashchange', route);
route();
poll();
loadTrends();
loadActions();
setInterval(poll, POLL_MS);
setInterval(loadTrends, TRENDS_MS);
