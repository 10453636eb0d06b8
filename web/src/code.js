// The tracking code of an anonymous suggestion, shown once: copy it, or
// save it as a picture (drawn on a canvas here, downloaded as PNG; nothing
// leaves the phone). It stays on this phone only until the member says it
// is saved.
import { copyText, h } from './ui.js';

const grouped = (code) => code.match(/.{1,4}/g).join(' ');

/** Breaks text into lines no wider than width (by character: Chinese has no spaces). */
function wrap(g, text, width) {
  const lines = [];
  let line = '';
  for (const ch of text) {
    if (line && g.measureText(line + ch).width > width) {
      lines.push(line);
      line = ch.trim() ? ch : '';
    } else line += ch;
  }
  if (line) lines.push(line);
  return lines;
}

/** Breaks the code's groups of four into lines no wider than width (never inside a group). */
function codeLines(g, groups, width) {
  const lines = [];
  let line = '';
  for (const grp of groups) {
    const next = line ? `${line} ${grp}` : grp;
    if (line && g.measureText(next).width > width) {
      lines.push(line);
      line = grp;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * The picture of the code: every line measured and wrapped to the width,
 * the height following what it holds, so that nothing is cut off at any
 * code length or font.
 */
function drawCard(code, id) {
  const W = 720;
  const M = 30;
  const inner = W - 2 * M;
  const c = document.createElement('canvas');
  const g = c.getContext('2d');
  const FONTS = { head: 'bold 32px sans-serif', code: 'bold 40px monospace', id: '26px sans-serif', text: '22px sans-serif' };
  g.font = FONTS.code;
  const codeL = codeLines(g, code.match(/.{1,4}/g), inner);
  g.font = FONTS.text;
  const textL = [
    ...wrap(g, '打开意见箱 → 查询码，输入上面的码即可查看答复。', inner),
    ...wrap(g, '请妥善保存，不要给别人看：有这个码的人就能以提出人身份回复和评价。', inner),
  ];
  c.width = W;
  c.height = 70 + 40 + codeL.length * 56 + 20 + 40 + textL.length * 36 + 40;
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = '#a4161a';
  g.fillRect(0, 0, c.width, 70);
  g.fillStyle = '#ffffff';
  g.font = FONTS.head;
  g.fillText('意见箱 · 匿名意见查询码', M, 47, inner);
  g.fillStyle = '#111111';
  g.font = FONTS.code;
  let y = 70 + 40 + 40;
  for (const l of codeL) {
    g.fillText(l, M, y);
    y += 56;
  }
  g.font = FONTS.id;
  y += 10;
  g.fillText(`意见编号 ${id}`, M, y, inner);
  y += 50;
  g.fillStyle = '#333333';
  g.font = FONTS.text;
  for (const l of textL) {
    g.fillText(l, M, y);
    y += 36;
  }
  return c;
}

/** e: a delivered anonymous outbox entry; onSaved(remember): the member has kept the code (on this phone too when remember). */
export function codeCard(e, onSaved) {
  const code = e.result.tracking_code;
  const status = h('p', { role: 'status', class: 'muted' });
  const copy = h('button', { type: 'button' }, '复制查询码');
  const copyBox = h('div');
  copy.addEventListener('click', async () => {
    if ((await copyText(code, status, copyBox)) === 'copied') status.textContent = '已复制，请粘贴到安全的地方保存。';
  });
  const save = h('button', { type: 'button' }, '保存为图片');
  save.addEventListener('click', () => {
    drawCard(code, e.result.id).toBlob((blob) => {
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `查询码-${e.result.id}.png` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = '图片已保存到下载文件夹（或相册）。';
    }, 'image/png');
  });
  const keep = h('input', { type: 'checkbox', name: 'remember_code' });
  const keepHint = h('p', { class: 'hint', id: 'remember-hint' }, '只在自己的手机上勾选：记住后，在这部手机上登录您账号的人都能看到这个码，并以提出人的身份回复、评价和撤回，匿名就不再对他们有效。退出登录时会从本机删除。');
  keep.setAttribute('aria-describedby', keepHint.id);
  const remember = h('div', { class: 'field' }, h('label', { class: 'choice' }, keep, '在本机记住这个查询码'), keepHint);
  const done = h('button', { type: 'button', class: 'primary' }, '我已保存好查询码');
  done.addEventListener('click', () => {
    if (keep.checked || confirm('关闭后查询码不会再显示。确定已经保存好了吗？')) onSaved(keep.checked);
  });
  const codeEl = h('p', { class: 'code', id: 'tracking-code', 'aria-label': `查询码 ${code.split('').join(' ')}` },
    grouped(code).split(' ').map((g) => [h('span', {}, g), ' ']));
  return h('section', { class: 'card codecard', 'aria-labelledby': 'code-h' },
    h('h1', { id: 'code-h' }, '匿名意见已送达'),
    h('p', {}, `意见编号 ${e.result.id}。下面是它的查询码：`),
    codeEl,
    h('p', { class: 'warn-text' }, '查询码只显示这一次，服务里也不保存。请现在复制或保存成图片：以后查看答复、回复和评价都要用它。'),
    h('div', { class: 'actions' }, copy, save),
    copyBox,
    status,
    remember,
    done,
  );
}
