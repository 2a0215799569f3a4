// The dashboard's only script: routes, polling, and DOM built with textContent (node names
// come from config files and must never be parsed as HTML). Charts arrive as server-rendered
// SVG fragments: one chart code base, shared with `nodewarden report --html`.
'use strict';

const POLL_MS = 2000;
const SECTION_MS = 10000;
const state = { nodes: [], route: 'overview', node: null, range: 0, lastSection: 0 };

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

function card(n) {
  const [cls, word] = health(n);
  const c = el('article', { class: 'card ' + cls, 'aria-labelledby': 'card-' + n.name });
  const h = el('h2');
  const a = el('a', { href: '#/node/' + enc(n.name), id: 'card-' + n.name }, n.name);
  h.append(a, el('span', { class: 'badge' }, n.health_reason || word));
  c.append(h, el('div', { class: 'kind' }, `${n.kind} · ${n.client_version || n.url}`));
  const target = n.last_target ?? n.target;
  const pct = n.current != null && target ? Math.min(100, (n.current / target) * 100) : null;
  const bar = el('div', { class: 'bar', role: 'progressbar', 'aria-label': 'sync progress',
    'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': pct == null ? '0' : pct.toFixed(2) });
  bar.append(el('span', { style: `width:${pct == null ? 0 : pct}%` }));
  c.append(bar);
  const dl = el('dl');
  const row = (k, v) => dl.append(el('dt', {}, k), el('dd', {}, v));
  if (!n.ok) {
    c.append(el('p', { class: 'alert' }, n.error || 'not polled yet'));
  } else {
    row('height', `${count(n.current)} / ${count(target)}${pct == null ? '' : ' (' + pct.toFixed(2) + '%)'}`);
    row('state', (n.synced ? 'synced' : n.state || '–'));
    row('rate', n.rate_blocks_per_second == null ? '–' : n.rate_blocks_per_second.toFixed(1) + ' blocks/s');
    if (!n.synced && n.eta_stalled) {
      row('ETA', 'stalled');
    } else if (!n.synced) {
      const range = n.eta_low_seconds != null ? ` (${age(n.eta_low_seconds)}–${n.eta_high_seconds == null ? '?' : age(n.eta_high_seconds)})` : '';
      row('ETA', age(n.eta_seconds) + range);
    }
    row('peers', n.peers == null ? 'unknown' : String(n.peers));
    row('head age', age(n.head_age_seconds));
  }
  if (n.stalled) c.append(el('p', { class: 'alert' }, `stalled ${age(n.stalled_for_seconds)} at ${count(n.stall_height)}`));
  if (n.process) {
    row('CPU', n.process.cpu_percent == null ? '–' : n.process.cpu_percent.toFixed(0) + '%');
    row('RSS', bytes(n.process.rss_bytes));
    if (n.memory_exhaustion_seconds != null) {
      c.append(el('p', { class: 'alert' }, `memory grows ${bytes(n.memory_growth_bytes_per_second * 3600)}/h: runs out in ${age(n.memory_exhaustion_seconds)}`));
    }
  }
  if (n.backup_age_seconds != null) row('last backup', age(n.backup_age_seconds) + ' ago');
  c.append(dl);
  return c;
}

function renderOverview() {
  const cards = $('#cards');
  cards.replaceChildren(...state.nodes.map(card));
  if (!state.nodes.length) cards.append(el('p', {}, 'No nodes configured.'));
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
    const t = el('table');
    const head = el('tr');
    for (const h of ['snapshot', 'node', 'height', 'size', 'age', 'signed']) head.append(el('th', { scope: 'col' }, h));
    t.append(head);
    const now = Date.now() / 1000;
    for (const s of snaps.slice().reverse()) {
      const tr = el('tr');
      const when = Date.parse(s.time) / 1000;
      for (const v of [s.name, s.node, count(s.height), bytes(s.size_bytes), age(now - when), s.signed ? 'yes' : 'no']) tr.append(el('td', {}, v));
      t.append(tr);
    }
    const status = el('p', { class: 'verify' }, 'Repository not verified yet.');
    const v = await fetch('api/verify', { credentials: 'same-origin', cache: 'no-store' });
    if (v.ok) {
      const r = await v.json();
      const when = age(now - r.checked_ms / 1000) + ' ago';
      status.textContent = r.ok
        ? `Structure verified ${when}: OK (${r.snapshots} snapshots, ${r.packs} packs, ${count(r.chunks)} chunks).`
        : `Structure verified ${when}: ${r.problems.length} problem(s): ${r.problems.slice(0, 3).join('; ')}`;
      if (!r.ok) status.classList.add('alert');
    }
    body.replaceChildren(status, snaps.length ? t : el('p', {}, 'The repository has no snapshots yet.'));
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
setInterval(poll, POLL_MS);
