// What every screen of the web client is checked for, shared by the
// browser tests: every input labelled, no English word in sight, axe-core
// finds nothing, the page fits the screen without sideways scrolling or
// text cut off, and every API answer the page receives matches the OpenAPI
// document (problems in Chinese, since the client asks for it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

import { checkChinese, checkResponse, templateFor } from '../../blackbox/lib/contract.mjs';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Names of things a Chinese page may show as they are. */
export const ALLOWED_WORDS = ['PDF', 'Atom', 'Wi', 'Fi', 'WeChat', 'Excel', 'CSV', 'UTF'];

/** Inputs, selects and text areas in sight without a label. */
export function unlabelled(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML));
}

/**
 * English words a person can see or hear on the page: its text in sight,
 * placeholders, accessible names and titles, and the page title. The
 * tracking code and suggestion ids (S-7K3Q9D) are letters and digits, not
 * words; machine-readable names shown as code (<code>: a roster file's
 * column names) are to be copied as they are; allow adds the data a test
 * typed (login names).
 */
export function englishWords(page, allow = ALLOWED_WORDS) {
  return page.evaluate((allowed) => {
    const shown = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const el = n.parentElement;
      if (!el || el.closest('#tracking-code, code, script, style, noscript, [hidden]')) continue;
      // Folded away (如何核验 on the bulletin page): not in sight until opened.
      const fold = el.closest('details:not([open])');
      if (fold && !el.closest('summary')) continue;
      if (!el.getClientRects().length) continue;
      shown.push(n.textContent);
    }
    for (const el of document.querySelectorAll('[placeholder], [aria-label], [title]')) {
      if (el.closest('[hidden]')) continue;
      shown.push(el.getAttribute('aria-label') ?? '', el.getAttribute('title') ?? '', el.getAttribute('placeholder') ?? '');
    }
    shown.push(document.title);
    const text = shown.join(' ').replace(/\bS-[0-9A-Z]{6}\b/g, '').replace(/\bS-X{6}\b/g, '');
    return [...new Set(text.match(/\b[A-Za-z]{2,}\b/g) ?? [])].filter((w) => !allowed.includes(w));
  }, allow);
}

/** axe-core's violations on the page (options: axe.run's), one line each. */
export async function axeViolations(page, options = {}) {
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(AXE);
  const result = await page.evaluate((o) => window.axe.run(document, { resultTypes: ['violations'], ...o }), options);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Every input labelled, no English word in sight, and axe-core finds nothing (contrast included). */
export async function accessible(page, what, { allow = [] } = {}) {
  assert.deepEqual(await unlabelled(page), [], `${what}: inputs without a label`);
  assert.deepEqual(await englishWords(page, [...ALLOWED_WORDS, ...allow]), [], `${what}: English words on the page`);
  assert.deepEqual(await axeViolations(page), [], `${what}: axe-core violations`);
}

/** What does not fit: sideways scrolling, boxes past the right edge, text cut off by its box. */
export function misfits(page) {
  return page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw + 1) out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('[hidden], .skip, svg') || !el.getClientRects().length) continue;
      const r = el.getBoundingClientRect();
      if (r.width && r.right > vw + 1) out.push(`${el.tagName}.${el.className} reaches ${Math.round(r.right)} > ${vw}: ${el.textContent.slice(0, 30)}`);
      const st = getComputedStyle(el);
      // A single-line field scrolls its own text under the caret (a long
      // tracking code at 200% text): that is the field, not text cut off.
      if (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') continue;
      if ((st.overflowX === 'hidden' || st.overflowX === 'clip' || st.textOverflow === 'ellipsis') && el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName}.${el.className} cuts its text: ${el.textContent.slice(0, 30)}`);
    }
    return out.slice(0, 10);
  });
}

/** Nothing wider than the screen, and no text cut off by its box. */
export async function fits(page, what) {
  assert.deepEqual(await misfits(page), [], `${what}: does not fit`);
}

/**
 * Checks every answer of this service that page receives against the
 * OpenAPI document, and every problem for Chinese; failures and page
 * errors are pushed to errors (asserted empty at the end of a file).
 */
export function watch(page, name, { origin, errors, unchecked = [] }) {
  page.on('pageerror', (e) => errors.page.push(`${name}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|ERR_FAILED/.test(m.text())) errors.page.push(`${name}: console: ${m.text()}`);
  });
  page.on('response', async (res) => {
    const url = new URL(res.url());
    if (url.origin !== origin || unchecked.includes(url.pathname)) return;
    try {
      const headers = await res.allHeaders();
      const ct = headers['content-type'] ?? '';
      // A revalidated page is reported as the cached 200, with the headers
      // of the service's actual answer, a 304: check that answer.
      const revalidated = res.status() === 200 && !ct && (await res.request().allHeaders())['if-none-match'];
      const status = revalidated ? 304 : res.status();
      const buf = status === 304 ? Buffer.alloc(0) : await res.body();
      const body = /json/.test(ct) && buf.length ? JSON.parse(buf.toString('utf8')) : buf.length ? buf.toString('utf8') : '';
      checkResponse(res.request().method(), templateFor(url.pathname), { status, headers }, body);
      // The client asks for Chinese: every problem it gets is Chinese.
      if (status >= 400 && body && typeof body === 'object') checkChinese(res.request().method(), url.pathname, body);
    } catch (e) {
      if (!/Target page, context or browser has been closed|No resource with given identifier|Response body is unavailable/.test(e.message)) errors.contract.push(`${res.request().method()} ${url.pathname}: ${e.message}`);
    }
  });
}
