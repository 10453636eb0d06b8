// The tracking code of an anonymous suggestion, shown once: copy it, or
// save it as a picture (drawn on a canvas here, downloaded as PNG; nothing
// leaves the phone). It stays on this phone only until the member says it
// is saved.
import { h } from './ui.js';

const grouped = (code) => code.match(/.{1,4}/g).join(' ');

function drawCard(code, id) {
  const c = document.createElement('canvas');
  c.width = 720;
  c.height = 400;
  const g = c.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = '#a4161a';
  g.fillRect(0, 0, c.width, 70);
  g.fillStyle = '#ffffff';
  g.font = 'bold 32px sans-serif';
  g.fillText('意见箱 · 匿名意见查询码', 30, 47);
  g.fillStyle = '#111111';
  g.font = 'bold 40px monospace';
  g.fillText(grouped(code), 30, 170);
  g.font = '26px sans-serif';
  g.fillText(`意见编号 ${id}`, 30, 240);
  g.fillStyle = '#333333';
  g.font = '22px sans-serif';
  g.fillText('打开意见箱 → 查询码，输入上面的码即可查看答复。', 30, 300);
  g.fillText('请妥善保存，不要给别人看：有这个码的人就能以提出人身份回复和评价。', 30, 340);
  return c;
}

/** e: a delivered anonymous outbox entry; onSaved: the member has kept the code. */
export function codeCard(e, onSaved) {
  const code = e.result.tracking_code;
  const status = h('p', { role: 'status', class: 'muted' });
  const copy = h('button', { type: 'button' }, '复制查询码');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code);
      status.textContent = '已复制，请粘贴到安全的地方保存。';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(codeEl);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = '请长按选中的查询码复制。';
    }
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
  const done = h('button', { type: 'button', class: 'primary' }, '我已保存好查询码');
  done.addEventListener('click', () => {
    if (confirm('关闭后查询码不会再显示。确定已经保存好了吗？')) onSaved();
  });
  const codeEl = h('p', { class: 'code', id: 'tracking-code', 'aria-label': `查询码 ${code.split('').join(' ')}` },
    grouped(code).split(' ').map((g) => [h('span', {}, g), ' ']));
  return h('section', { class: 'card codecard', 'aria-labelledby': 'code-h' },
    h('h1', { id: 'code-h' }, '匿名意见已送达'),
    h('p', {}, `意见编号 ${e.result.id}。下面是它的查询码：`),
    codeEl,
    h('p', { class: 'warn-text' }, '查询码只显示这一次，服务里也不保存。请现在复制或保存成图片：以后查看答复、回复和评价都要用它。'),
    h('div', { class: 'actions' }, copy, save),
    status,
    done,
  );
}
