// End-to-end check of the dashboard in a real browser (Debian's Chromium driven by
// playwright-core). Usage: node dashboard.mjs BASE_URL TOKEN OUT_DIR
// Exits 0 when every check passes; otherwise prints the failed check and exits 1.
// Screenshots land in OUT_DIR for a person to look at.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.NODEWARDEN_PLAYWRIGHT);
const [base, token, outDir] = process.argv.slice(2);
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
  check(JSON.stringify(names) === JSON.stringify(NODES), 'the overview shows every node: ' + names.join(', '));

  const heights = async () => page.$$eval('#cards .card dd:first-of-type', (dds) => dds.map((d) => Number(d.textContent.split('/')[0].replace(/[^0-9]/g, ''))));
  const first = await heights();
  await page.waitForTimeout(5000);
  const second = await heights();
  // znn-b may already sit in its first stall at 600; every other node must move.
  const moved = NODES.map((n, i) => second[i] > first[i] || (n === 'znn-b' && second[i] === 600));
  check(moved.every(Boolean), `heights advance (${first.join(',')} -> ${second.join(',')})`);
  await page.screenshot({ path: `${outDir}/overview.png`, fullPage: true });

  // The slow node stalls at 600 (cpu) in the demo scenario.
  await page.waitForFunction(() => {
    const card = [...document.querySelectorAll('#cards .card')].find((c) => c.querySelector('h2 a').textContent === 'znn-b');
    return card && /stalled/.test(card.textContent) && card.classList.contains('crit');
  }, null, { timeout: 90000 });
  check(true, 'a stall appears on znn-b, coloured critical');
  await page.screenshot({ path: `${outDir}/overview-stalled.png`, fullPage: true });

  // Keyboard: the node name is a link reachable by Tab.
  await page.focus('#cards .card h2 a');
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

  await page.goto(`${base}/#/backups`);
  await page.waitForFunction(() => /verified/.test(document.querySelector('#backups-body').textContent)
    && document.querySelectorAll('#backups-body tr').length >= 2, null, { timeout: 30000 });
  const backups = await page.textContent('#backups-body');
  check(/znn-a-h0-/.test(backups) && /Structure verified .*: OK/.test(backups), 'the backups page lists the snapshot and a passing verify');
  await page.screenshot({ path: `${outDir}/backups.png`, fullPage: true });

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const p2 = await phone.newPage();
  await p2.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await p2.waitForFunction(() => document.querySelectorAll('#cards .card').length === 4);
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
