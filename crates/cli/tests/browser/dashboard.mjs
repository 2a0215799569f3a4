// End-to-end check of the dashboard in a real browser (Debian's Chromium driven by
// playwright-core). Usage: node dashboard.mjs BASE_URL TOKEN OUT_DIR RESTORE_DIR LIVE_DATA_DIR
// Exits 0 when every check passes; otherwise prints the failed check and exits 1.
// Screenshots land in OUT_DIR for a person to look at.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.NODEWARDEN_PLAYWRIGHT);
const [base, token, outDir, restoreDir, liveDir] = process.argv.slice(2);
const NODES = ['znn-a', 'znn-b', 'eth', 'xx'];

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

const browser = await chromium.launch({
  executablePath: process.env.NODEWARDEN_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  // Without the token: refused.
  const anon = await browser.newContext();
  const refused = await (await anon.newPage()).goto(base + '/');
  check(refused.status() === 401, `a request without the token is refused (HTTP ${refused.status()})`);
  const api = await anon.request.get(base + '/api/nodes');
  check(api.status() === 401, 'the API is refused without the token too');
  await anon.close();

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await ctx.newPage();
  const resp = await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
  check(resp.status() === 200, 'the token opens the dashboard');
  await page.waitForFunction((n) => document.querySelectorAll('#cards .card').length === n, NODES.length, { timeout: 20000 });
  const names = await page.$$eval('#cards .card h2 a', (as) => as.map((a) => a.textContent));
  check(JSON.stringify(names.slice().sort()) === JSON.stringify(NODES.slice().sort()), 'the overview shows every node: ' + names.join(', '));

  // Cards are sorted trouble first: read them by node, not by position.
  const heights = async () => page.$$eval('#cards .card', (cs) => Object.fromEntries(cs.map((c) =>
    [c.dataset.node, Number(c.querySelector('dd').textContent.split('/')[0].replace(/[^0-9]/g, ''))])));
  await page.waitForFunction((n) => document.querySelectorAll('#cards .card .spark svg').length === 2 * n, NODES.length, { timeout: 20000 });
  const first = await heights();
  await page.waitForTimeout(5000);
  const second = await heights();
  // znn-b may already sit in its first stall at 600; every other node must move.
  const moved = NODES.map((n) => second[n] > first[n] || (n === 'znn-b' && second[n] === 600));
  check(moved.every(Boolean), `heights advance (${JSON.stringify(first)} -> ${JSON.stringify(second)})`);
  const sparks = await page.$$eval('#cards .card', (cs) => cs.map((c) => [...c.querySelectorAll('.spark svg')].map((s) => s.getAttribute('aria-label') + ':' + s.querySelectorAll('path, polyline').length)));
  check(sparks.every((c) => c.length === 2 && /^Height:[1-9]/.test(c[0]) && /^Rate:[1-9]/.test(c[1])),
    'every card draws its height and rate charts: ' + JSON.stringify(sparks));
  const summary = await page.textContent('#summary');
  check(/\d+ synced.*\d+ syncing.*\d+ stalled.*\d+ down.*\d+ forked/.test(summary), 'the fleet summary is on top: ' + summary);
  await page.click('button[data-window="3600"]');
  await page.waitForFunction(() => document.querySelector('button[data-window="3600"]').getAttribute('aria-pressed') === 'true'
    && document.querySelectorAll('#cards .card .spark svg').length === 8, null, { timeout: 10000 });
  check(true, 'the charts switch to the last hour');
  await page.click('button[data-window="900"]');
  await page.screenshot({ path: `${outDir}/overview.png`, fullPage: true });

  // The slow node stalls at 600 (cpu) in the demo scenario: its card says since when and
  // where, in place of an ETA, and moves to the top.
  await page.waitForFunction(() => {
    const card = document.querySelector('#cards .card[data-node="znn-b"]');
    return card && card.classList.contains('crit') && /stalled \S+ at [\d,]+/.test(card.textContent);
  }, null, { timeout: 90000 });
  const eta = await page.$eval('#cards .card[data-node="znn-b"]', (c) => {
    const dt = [...c.querySelectorAll('dt')].find((d) => d.textContent === 'ETA');
    return dt ? dt.nextElementSibling.textContent : '';
  });
  check(/^stalled \S+ at [\d,]+$/.test(eta), `the stalled node says "${eta}" where its ETA would be, and no estimate`);
  const firstCard = await page.$eval('#cards .card', (c) => c.dataset.node);
  const stalledCount = await page.textContent('#summary .sum-stalled');
  check(firstCard === 'znn-b' || /^[1-9]/.test(stalledCount), `trouble first: ${firstCard} leads, summary says ${stalledCount}`);
  await page.screenshot({ path: `${outDir}/overview-stalled.png`, fullPage: true });

  // Backups: the demo's own signed snapshot of znn-a is listed, with a verify.
  await page.goto(`${base}/#/backups`);
  await page.waitForFunction(() => /verified/.test(document.querySelector('#backups-body').textContent)
    && document.querySelectorAll('#backups-body tr').length >= 2, null, { timeout: 30000 });
  const backups = await page.textContent('#backups-body');
  check(/znn-a-h\d+-/.test(backups) && /Structure verified .*: OK/.test(backups), 'the backups page lists the demo\'s snapshot and a passing verify');
  const row = await page.$$eval('#backups-body tr', (trs) => trs.slice(1).map((tr) => [...tr.children].map((td) => td.textContent)));
  check(row.some((r) => r[1] === 'znn-a' && r[5] === 'yes' && /^OK/.test(r[6])), 'the demo\'s snapshot is signed and verified: ' + JSON.stringify(row[0]));

  // Refusals: no CSRF token, another origin, no bearer token.
  const csrf = (await (await page.request.get(`${base}/api/actions`)).json()).csrf;
  const noCsrf = await page.request.post(`${base}/api/actions/backup`, { data: { node: 'znn-b' }, headers: { origin: base } });
  check(noCsrf.status() === 403, `an action without the CSRF token is refused (HTTP ${noCsrf.status()})`);
  const foreign = await page.request.post(`${base}/api/actions/backup`, { data: { node: 'znn-b' }, headers: { origin: 'http://evil.example', 'x-csrf-token': csrf } });
  check(foreign.status() === 403, `an action from another origin is refused (HTTP ${foreign.status()}: ${(await foreign.text()).trim()})`);
  const anon2 = await browser.newContext();
  const noToken = await anon2.request.post(`${base}/api/actions/backup`, { data: { node: 'znn-b' }, headers: { origin: base, 'x-csrf-token': csrf } });
  check(noToken.status() === 401, `an action without the bearer token is refused (HTTP ${noToken.status()})`);
  await anon2.close();

  // "Back up now" by keyboard on the overview: the job reports through server-sent events.
  await page.goto(`${base}/#/`);
  const button = '#cards .card[data-node="znn-b"] button.act';
  await page.waitForSelector(button, { timeout: 20000 });
  check(await page.getAttribute(button, 'aria-label') === 'Back up znn-b now', 'the button is labelled for screen readers');
  await page.focus(button);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /done: snapshot znn-b-h\d+/.test(document.querySelector('#jobs').textContent)
    || /failed/.test(document.querySelector('#jobs').textContent), null, { timeout: 60000 });
  const job = await page.textContent('#jobs');
  check(/done: snapshot znn-b-h\d+-\S+ saved/.test(job), 'Back up now made a snapshot: ' + job.trim());
  console.log('snapshot ' + job.match(/snapshot (znn-b-h\S+) saved/)[1]);
  await page.screenshot({ path: `${outDir}/backup-now.png`, fullPage: true });

  // Verify (read 100 %) and a restore into a new directory, from the backups page.
  await page.goto(`${base}/#/backups`);
  await page.waitForSelector('#verify-form button');
  await page.fill('#verify-pct', '100');
  await page.click('#verify-form button');
  await page.waitForFunction(() => /^Verify \(read 100 %\) (done|failed)/.test(document.querySelector('#jobs li').textContent), null, { timeout: 60000 });
  const verified = await page.textContent('#jobs li');
  check(/done: OK/.test(verified), 'Verify (read 100 %) passes: ' + verified);
  await page.waitForFunction(() => /Data read \(\d+ of \d+ packs\) verified .*: OK/.test(document.querySelector('#backups-body').textContent), null, { timeout: 10000 });
  check(true, 'the backups page shows the data verify');
  await page.selectOption('#restore-snap', { index: 0 });
  await page.fill('#restore-target', restoreDir);
  await page.click('#restore-form button');
  // The newest job is the first entry.
  await page.waitForFunction(() => /^Restore .* (done|failed)/.test(document.querySelector('#jobs li').textContent), null, { timeout: 60000 });
  const restored = await page.textContent('#jobs li');
  check(/done: .* restored into/.test(restored), 'a snapshot is restored into a new directory: ' + restored);
  await page.fill('#restore-target', restoreDir);
  await page.click('#restore-form button');
  await page.waitForFunction(() => /^Restore .* (done|failed)/.test(document.querySelector('#jobs li').textContent)
    && document.querySelectorAll('#jobs li').length === 4, null, { timeout: 30000 });
  const again = await page.textContent('#jobs li');
  check(/failed: .* exists and is not empty/.test(again), 'a second restore over the same, now full, directory is refused: ' + again);
  // Over a node's live data dir only with its name typed: a wrong or missing name is refused.
  await page.fill('#restore-target', liveDir);
  await page.fill('#restore-confirm', 'znn-a');
  await page.click('#restore-form button');
  await page.waitForFunction(() => document.querySelectorAll('#jobs li').length === 5
    && /^Restore .* (done|failed)/.test(document.querySelector('#jobs li').textContent), null, { timeout: 30000 });
  const live = await page.textContent('#jobs li');
  check(/failed: restoring over the live data dir of `znn-b` needs its name typed to confirm/.test(live), 'a live data dir needs the node\'s name: ' + live);
  await page.screenshot({ path: `${outDir}/backups.png`, fullPage: true });

  // Keyboard: the node name is a link reachable by Tab.
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#cards .card[data-node="znn-a"] h2 a');
  await page.focus('#cards .card[data-node="znn-a"] h2 a');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#/node/znn-a');
  await page.waitForSelector('#node-body svg', { timeout: 20000 });
  const charts = await page.$$eval('#node-body svg', (s) => s.length);
  check(charts >= 3, `the node page draws its charts (${charts} SVG charts)`);
  const downloads = await page.$$eval('#downloads a', (as) => as.map((a) => a.getAttribute('href')));
  const csv = await page.request.get(`${base}/${downloads[0]}`);
  check(csv.status() === 200 && (await csv.text()).startsWith('t_ms,node,state'), 'the CSV download works');
  const report = await page.request.get(`${base}/${downloads[1]}`);
  check(report.status() === 200 && (await report.text()).includes('<svg'), 'the HTML report download has its charts');
  const bundle = await page.request.get(`${base}/${downloads[2]}`);
  const bytes = await bundle.body();
  check(bundle.status() === 200 && bytes[0] === 0x28 && bytes[1] === 0xb5 && bytes[2] === 0x2f && bytes[3] === 0xfd,
    'the bundle download is a zstd archive');
  await page.screenshot({ path: `${outDir}/node.png`, fullPage: true });

  await page.goto(`${base}/#/node/znn-b`);
  await page.waitForFunction(() => /stall/i.test(document.querySelector('#node-body').textContent) && document.querySelectorAll('#node-body svg').length >= 3, null, { timeout: 30000 });
  check(true, 'the slow node page lists its stall');
  await page.screenshot({ path: `${outDir}/node-stalled.png`, fullPage: true });

  await page.goto(`${base}/#/ab`);
  await page.selectOption('#ab-a', 'znn-a');
  await page.selectOption('#ab-b', 'znn-b');
  await page.click('#ab-form button');
  await page.waitForFunction(() => /speedup/i.test(document.querySelector('#ab-body').textContent), null, { timeout: 30000 });
  check(true, 'the A/B page compares znn-a and znn-b');
  await page.screenshot({ path: `${outDir}/ab.png`, fullPage: true });

  // znn-b loses every peer at 2,200 (about 80 s in at this speed): its card says so.
  await page.goto(`${base}/#/`);
  await page.waitForFunction(() => /lost all 12 peers/.test(document.querySelector('#cards .card[data-node="znn-b"]').textContent), null, { timeout: 120000 });
  check(true, 'a node that lost all its peers says so on its card');
  await page.screenshot({ path: `${outDir}/overview-peers.png`, fullPage: true });

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const p2 = await phone.newPage();
  await p2.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await p2.waitForFunction(() => document.querySelectorAll('#cards .card').length === 4);
  await p2.waitForFunction(() => document.querySelectorAll('#cards .card .spark svg').length === 8, null, { timeout: 20000 });
  const overflow = await p2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no horizontal scrolling on a phone-sized screen (overflow ${overflow}px)`);
  await p2.screenshot({ path: `${outDir}/phone.png`, fullPage: true });
  console.log('all dashboard checks passed');
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
