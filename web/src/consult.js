// Consultations (征求意见, issue 23): the committee asks, every member answers
// once. Members find the open ones on their home page and answer on the
// phone; the committee drafts one from a template, the secretary opens it,
// follows the count (never who), and after the close groups the free-text
// answers into themes and hands the opinions on each committee member over
// to them. Loaded when first needed (the home page's card, #/consult…).
import { ApiError, api } from './api.js';
import * as outbox from './outbox.js';
import { consultationToken, fetchConsultationToken } from './tokens.js';
import { bars } from './committee.js';
import { state } from './main.js';
import { FieldError, busy, confirmStep, copyText, field, flash, h, mount, nodes, notice, title, when } from './ui.js';

export const KIND = { life_meeting: '组织生活会征求意见', before_decision: '决策前征求意见', blank: '空白征求意见' };
const MODE = { named_only: '只能实名', anonymous_allowed: '可以实名，也可以匿名', anonymous_only: '只能匿名' };
const STATUS = { draft: '草稿', open: '征求中', closed: '已结束' };
const QKIND = { text: '问答（自由填写）', single: '单选', multiple: '多选', rating: '打分（1–5）', member_opinions: '对每位支委的意见' };

const beijing = (iso) => `${when(iso)}（北京时间）`;
/** A datetime-local value (read as Beijing time) as RFC 3339 UTC, seconds and no fraction. */
const fromLocal = (v) => (v ? new Date(`${v}:00+08:00`).toISOString().replace(/\.\d+Z$/, 'Z') : '');
const toLocal = (iso) => when(iso).replace(' ', 'T');
const statusBadge = (c) => h('span', { class: `badge c-${c.status}` }, STATUS[c.status] ?? c.status);
const answeredBadge = (yes) => h('span', { class: `badge ${yes ? 'c-answered' : 'c-unanswered'}` }, yes ? '已反馈' : '未反馈');
const section = (id, heading, ...children) => h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, heading), ...children);

/** The units where the caller may draft: committee or secretary there, secretary above, or admin. */
async function draftingUnits() {
  const ms = state.me?.memberships ?? [];
  const staff = new Set(ms.filter((m) => m.roles.includes('committee') || m.roles.includes('secretary')).map((m) => m.unit_id));
  const sec = new Set(ms.filter((m) => m.roles.includes('secretary')).map((m) => m.unit_id));
  const out = [];
  const walk = (list, depth, above) => list.forEach((u) => {
    if (!u.retired_at && (state.me?.is_admin || staff.has(u.id) || above)) out.push({ id: u.id, name: `${'　'.repeat(depth)}${u.name}` });
    walk(u.children ?? [], depth + 1, above || sec.has(u.id));
  });
  walk((await api('GET', '/v1/org-units')).units, 0, false);
  return out;
}
const mayDraft = () => !!state.me && (state.me.is_admin || (state.me.memberships ?? []).some((m) => m.roles.includes('committee') || m.roles.includes('secretary')));

// ---- the home page's card and the list ------------------------------------------------

function listItem(c) {
  return h('li', { class: 'item' },
    h('a', { href: `#/consult/${c.id}` }, h('span', { class: 'title' }, c.title)),
    h('div', { class: 'meta' }, statusBadge(c), c.status === 'open' ? answeredBadge(c.answered || !!pendingOf(c.id)) : null, ` ${c.unit_name}`),
    h('div', { class: 'meta' }, c.status === 'draft' ? `计划 ${beijing(c.opens_at)} 开始` : `${c.status === 'open' ? '截止' : '结束于'} ${beijing(c.closes_at)}`));
}

/**
 * Fills el (on the home page) with the open consultations that ask the
 * member, with their closing time and whether the member has answered;
 * leaves it empty when there are none.
 */
export async function homeCard(el) {
  let r;
  try {
    r = await api('GET', '/v1/consultations');
  } catch {
    return; // offline: the home page shows the rest
  }
  const open = r.consultations.filter((c) => c.status === 'open');
  if (!open.length) return;
  // Every open one's token is fetched now, whatever the member means to
  // do; and an answer without a name shows as one: the token is spent.
  await Promise.all(open.map(async (c) => {
    try {
      const d = await api('GET', `/v1/consultations/${c.id}`);
      await fetchConsultationToken(d).catch(() => {});
      c.answered ||= !!pendingOf(c.id) || (d.you.token_taken && !(await consultationToken(c.id)));
    } catch {
      /* the list says enough */
    }
  }));
  if (!el.isConnected) return;
  el.replaceChildren(
    h('h2', { id: 'consult-home-h' }, '征求意见'),
    h('p', { class: 'muted' }, '支部在征求大家的意见，每人可以反馈一次，截止前可以修改。'),
    h('ul', { class: 'list', 'aria-labelledby': 'consult-home-h' }, open.map(listItem)));
}

async function listPage() {
  title('征求意见');
  const r = await api('GET', '/v1/consultations');
  const by = (s) => r.consultations.filter((c) => c.status === s);
  const group = (s, heading, empty) => [h('h2', {}, heading), by(s).length ? h('ul', { class: 'list', 'aria-label': heading }, by(s).map(listItem)) : h('p', { class: 'muted' }, empty)];
  mount(
    h('h1', {}, '征求意见'),
    mayDraft() ? h('p', { class: 'actions' }, h('a', { class: 'button primary', href: '#/consult-new' }, '发起征求意见')) : null,
    group('open', '正在征求', '现在没有正在征求的意见。'),
    r.consultations.some((c) => c.staff) ? group('draft', '草稿（成员看不到）', '没有草稿。') : null,
    group('closed', '已结束', '还没有结束的征求意见。'),
  );
}

// ---- drafting and changing a draft -----------------------------------------------------

/** The question editor: one fieldset per question, kinds, prompts, choices, order. */
function questionEditor(initial) {
  let qs = initial.map((q) => ({ kind: q.kind, prompt: q.prompt, choices: q.choices ?? [] }));
  const box = h('div', { class: 'questions' });
  const read = () => {
    qs = [...box.querySelectorAll('fieldset.question')].map((fs) => ({
      kind: fs.querySelector('select').value,
      prompt: fs.querySelector('textarea[name=prompt]').value.trim(),
      choices: fs.querySelector('textarea[name=choices]').value.split('\n').map((s) => s.trim()).filter(Boolean),
    }));
    return qs;
  };
  const render = (focusIndex) => {
    box.replaceChildren(...qs.map((q, i) => {
      const kind = field('题型', h('select', { name: 'kind' }, Object.entries(QKIND).map(([v, t]) => h('option', { value: v }, t))));
      kind.control.value = q.kind;
      const prompt = field('问题', h('textarea', { name: 'prompt', rows: 2, maxlength: 500, 'data-pointer': `/questions/${i}` }));
      prompt.control.value = q.prompt;
      const choices = field('选项（每行一个，2 到 20 个）', h('textarea', { name: 'choices', rows: 4 }));
      choices.control.value = q.choices.join('\n');
      choices.hidden = !['single', 'multiple'].includes(q.kind);
      kind.control.addEventListener('change', () => {
        read();
        render(i);
      });
      const up = i ? h('button', { type: 'button', onclick: () => { read(); [qs[i - 1], qs[i]] = [qs[i], qs[i - 1]]; render(i - 1); } }, `第 ${i + 1} 题上移`) : null;
      const del = h('button', { type: 'button', class: 'danger', onclick: () => { read(); qs.splice(i, 1); render(Math.max(0, i - 1)); } }, `删除第 ${i + 1} 题`);
      return h('fieldset', { class: 'question' }, h('legend', {}, `第 ${i + 1} 题`), kind, prompt, choices,
        q.kind === 'member_opinions' ? h('p', { class: 'hint' }, '每位支委一个可不填的意见框；意见原文只由书记转交本人。') : null,
        h('p', { class: 'actions' }, up, del));
    }));
    if (focusIndex !== undefined) box.querySelectorAll('fieldset.question select')[focusIndex]?.focus();
  };
  render();
  const add = h('button', { type: 'button', onclick: () => { read(); qs.push({ kind: 'text', prompt: '', choices: [] }); render(qs.length - 1); } }, '添加一题');
  const wrap = h('div', {}, h('h2', {}, '问题'), box, h('p', { class: 'actions' }, add));
  wrap.read = () => read().map((q) => (['single', 'multiple'].includes(q.kind) ? q : { kind: q.kind, prompt: q.prompt }));
  return wrap;
}

/** The fields of a draft; d: the draft so far (or {}). read() gives the body to send. */
function draftFields(d) {
  const t = field('标题', h('input', { name: 'title', maxlength: 100, 'data-pointer': '/title', value: d.title ?? '' }));
  const body = field('说明（征求什么，方案全文）', h('textarea', { name: 'body', rows: 8, maxlength: 20000, 'data-pointer': '/body' }));
  body.control.value = d.body ?? '';
  const mode = field('作答方式', h('select', { name: 'answer_mode', 'data-pointer': '/answer_mode' }, Object.entries(MODE).map(([v, x]) => h('option', { value: v }, x))));
  mode.control.value = d.answer_mode ?? 'anonymous_allowed';
  const sub = h('label', { class: 'choice wide' }, h('input', { type: 'checkbox', name: 'include_subunits', checked: !!d.include_subunits }), '同时征求下级单位的党员');
  const qs = questionEditor(d.questions ?? [{ kind: 'text', prompt: '', choices: [] }]);
  const wrap = h('div', {}, t, body, mode, sub, qs);
  wrap.read = () => {
    const b = { title: t.control.value.trim(), body: body.control.value.trim(), answer_mode: mode.control.value, include_subunits: sub.querySelector('input').checked, questions: qs.read() };
    if (!b.title) throw new FieldError(t.control, '请填写标题');
    if (!b.body) throw new FieldError(body.control, '请填写说明');
    const empty = b.questions.findIndex((q) => !q.prompt);
    if (!b.questions.length) throw new Error('请至少添加一题');
    if (empty >= 0) throw new FieldError(qs.querySelectorAll('textarea[name=prompt]')[empty], '请填写问题');
    return b;
  };
  return wrap;
}

/** Opening and closing times, in Beijing time. */
function timeFields(d) {
  const now = new Date(Math.floor(Date.now() / 60000) * 60000).toISOString();
  const opens = field('开始时间（北京时间）', h('input', { type: 'datetime-local', name: 'opens_at', 'data-pointer': '/opens_at', value: toLocal(d.opens_at ?? now) }));
  const closes = field('截止时间（北京时间）', h('input', { type: 'datetime-local', name: 'closes_at', 'data-pointer': '/closes_at', value: toLocal(d.closes_at ?? new Date(Date.parse(now) + 7 * 86400000).toISOString()) }));
  const wrap = h('div', {}, opens, closes);
  wrap.read = () => {
    const b = { opens_at: fromLocal(opens.control.value), closes_at: fromLocal(closes.control.value) };
    if (!b.opens_at) throw new FieldError(opens.control, '请填写开始时间');
    if (!b.closes_at) throw new FieldError(closes.control, '请填写截止时间');
    if (b.closes_at <= b.opens_at) throw new FieldError(closes.control, '截止时间要晚于开始时间');
    return b;
  };
  return wrap;
}

async function newPage() {
  title('发起征求意见');
  const units = await draftingUnits();
  if (!units.length) {
    mount(h('h1', {}, '发起征求意见'), notice('只有支委、书记和管理员可以发起征求意见。', 'error'));
    return;
  }
  const unit = field('哪个单位征求', h('select', { name: 'unit' }, units.map((u) => h('option', { value: u.id }, u.name))));
  const tpl = (value, text, hint) => h('label', { class: 'choice wide' }, h('input', { type: 'radio', name: 'kind', value, checked: value === 'life_meeting' }), h('span', {}, h('strong', {}, text), h('br'), h('span', { class: 'hint' }, hint)));
  const kinds = h('fieldset', {}, h('legend', {}, '模板'),
    tpl('life_meeting', KIND.life_meeting, '对班子的总体评价、意见建议，以及对每位支委的意见（原文只转交本人）'),
    tpl('before_decision', KIND.before_decision, '对方案赞成与否，以及具体意见'),
    tpl('blank', '空白', '自己写标题、说明和问题'));
  const times = timeFields({});
  const blank = draftFields({});
  const note = h('p', { class: 'hint' }, '模板已带标题、说明和问题；起草后都可以修改，开始征求前成员看不到。');
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '起草');
  const form = h('form', { class: 'card', 'aria-labelledby': 'cn-h', novalidate: true }, h('h1', { id: 'cn-h' }, '发起征求意见'), unit, kinds, note, blank, times, err, submit);
  const kind = () => form.querySelector('input[name=kind]:checked').value;
  const show = () => {
    blank.hidden = kind() !== 'blank';
    note.hidden = kind() === 'blank';
  };
  kinds.addEventListener('change', show);
  show();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const b = { kind: kind(), ...times.read(), ...(kind() === 'blank' ? blank.read() : {}) };
      const c = await api('POST', `/v1/org-units/${unit.control.value}/consultations`, { body: b });
      location.hash = `#/consult/${c.id}`;
    }, err);
  });
  mount(form);
}

async function editPage(id) {
  const c = await api('GET', `/v1/consultations/${id}`);
  title(`修改：${c.title}`);
  if (!c.you.may_edit) {
    mount(h('h1', {}, c.title), notice('已经开始征求，不能再修改。', 'error'), h('p', {}, h('a', { href: `#/consult/${c.id}` }, '返回')));
    return;
  }
  const fields = draftFields(c);
  const times = timeFields(c);
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' }, '保存草稿');
  const form = h('form', { class: 'card', 'aria-labelledby': 'ce-h', novalidate: true }, h('h1', { id: 'ce-h' }, '修改草稿'), fields, times, err, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      await api('PATCH', `/v1/consultations/${c.id}`, { body: { ...fields.read(), ...times.read() } });
      location.hash = `#/consult/${c.id}`;
      setTimeout(() => flash('草稿已保存。'), 0);
    }, err);
  });
  mount(form, h('p', {}, h('a', { href: `#/consult/${c.id}` }, '不改了，返回')));
}

// ---- answering -------------------------------------------------------------------------

/** The controls of one question, filled from the member's earlier answer (v). */
function questionInput(q, v) {
  const ptr = `/answers/${q.position}`;
  const name = `q${q.position}`;
  const legend = h('legend', {}, `${q.position}. ${q.prompt}`);
  if (q.kind === 'text') {
    const f = field(`${q.position}. ${q.prompt}`, h('textarea', { name, rows: 4, maxlength: 5000, 'data-pointer': ptr }), '可不填');
    f.control.value = typeof v === 'string' ? v : '';
    f.read = () => f.control.value.trim() || undefined;
    return f;
  }
  if (q.kind === 'single' || q.kind === 'multiple') {
    const multi = q.kind === 'multiple';
    const chosen = new Set(multi ? (Array.isArray(v) ? v : []) : [v]);
    const fs = h('fieldset', { class: 'answer-q', 'data-pointer': ptr }, legend, multi ? h('p', { class: 'hint' }, '可以多选') : null,
      q.choices.map((c) => h('label', { class: 'choice wide' }, h('input', { type: multi ? 'checkbox' : 'radio', name, value: c, checked: chosen.has(c) }), c)));
    fs.read = () => {
      const vals = [...fs.querySelectorAll('input:checked')].map((i) => i.value);
      if (!vals.length) return undefined;
      return multi ? vals : vals[0];
    };
    return fs;
  }
  if (q.kind === 'rating') {
    const words = ['', '很不满意', '不太满意', '一般', '比较满意', '很满意'];
    const fs = h('fieldset', { class: 'answer-q rating', 'data-pointer': ptr }, legend,
      [1, 2, 3, 4, 5].map((n) => h('label', { class: 'choice rate' }, h('input', { type: 'radio', name, value: n, checked: v === n }), h('span', {}, `${n} 分`, h('br'), h('small', {}, words[n])))));
    fs.read = () => {
      const x = fs.querySelector('input:checked');
      return x ? Number(x.value) : undefined;
    };
    return fs;
  }
  // member_opinions: one optional field per committee member.
  const fields = (q.subjects ?? []).map((s) => {
    const f = field(`对${s.display_name}的意见`, h('textarea', { name: `${name}-${s.account_id}`, rows: 3, maxlength: 5000 }), '可不填');
    f.control.value = v && typeof v === 'object' ? v[s.account_id] ?? '' : '';
    f.subject = s.account_id;
    return f;
  });
  const fs = h('fieldset', { class: 'answer-q', 'data-pointer': ptr }, legend, h('p', { class: 'hint' }, '原文只由书记转交给这位支委本人，不带您的名字；公开的只是本人的整改措施。'), fields);
  fs.read = () => {
    const o = {};
    for (const f of fields) if (f.control.value.trim()) o[f.subject] = f.control.value.trim();
    return Object.keys(o).length ? o : undefined;
  };
  return fs;
}

/** The values of the form's questions, by position; throws when none is answered. */
function readAnswers(c, inputs) {
  const answers = {};
  c.questions.forEach((q, i) => {
    const v = inputs[i].read();
    if (v !== undefined) answers[q.position] = v;
  });
  if (!Object.keys(answers).length) throw new FieldError(inputs[0].control ?? inputs[0].querySelector('input, textarea'), '请至少回答一题');
  return answers;
}

/**
 * The answer form. modes: which of 'named' and 'anonymous' the member may
 * choose now. A named answer goes at once (the first one spends the
 * consultation's token where anonymous answers are allowed, so that
 * nobody answers both ways); an anonymous one goes through the outbox
 * with the token, without a session, at a random moment before the
 * release window's end, like every anonymous act.
 */
function answerForm(c, reload, modes) {
  const inputs = c.questions.map((q) => questionInput(q, c.you.answer?.[q.position] ?? c.you.answer?.[String(q.position)]));
  const err = h('div');
  const submit = h('button', { type: 'submit', class: 'primary' });
  const radio = (value, text) => h('label', { class: 'choice wide' }, h('input', { type: 'radio', name: 'answer_as', value, checked: modes[0] === value }), text);
  const modeSet = modes.length > 1 ? h('fieldset', {}, h('legend', {}, '反馈方式'), radio('anonymous', '匿名（谁也查不到是我写的）'), radio('named', '实名')) : null;
  const mode = () => (modeSet ? modeSet.querySelector('input:checked').value : modes[0]);
  const explain = h('p', { class: 'muted' });
  const showMode = () => {
    const anon = mode() === 'anonymous';
    submit.textContent = c.you.answered ? '修改我的反馈' : anon ? '匿名提交' : '实名提交';
    explain.textContent = anon
      ? '匿名反馈只用本机领到的这次征求的凭证，不带您的登录信息：支委、书记、管理员都查不到是谁写的。提交后显示一个查询码，只显示一次，截止前凭它修改。'
      : '实名反馈，书记和支委能看到是您写的，截止前可以修改。';
  };
  modeSet?.addEventListener('change', showMode);
  showMode();
  const form = h('form', { class: 'card', 'aria-labelledby': 'ca-h', novalidate: true },
    h('h2', { id: 'ca-h' }, c.you.answered ? '我的反馈（截止前可以修改）' : '我的反馈'), modeSet, explain, inputs, err, submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const answers = readAnswers(c, inputs);
      if (mode() === 'anonymous') {
        const token = await consultationToken(c.id, true);
        if (!token) throw new Error('本机没有这次征求的匿名凭证，不能匿名反馈。');
        const r = await outbox.perform({ method: 'POST', path: `/v1/consultations/${c.id}/anonymous-answer`, body: { answers }, sid: sidOf(c.id), href: `#/consult/${c.id}`, label: `匿名反馈：${c.title}`, keep: true }, token);
        await reload();
        if (r.deadline) flash(`已保存在本机，将于 ${when(new Date(r.deadline).toISOString()).slice(11)} 前匿名送达。`);
        return;
      }
      const first = !c.you.answered;
      // The first named answer spends the token fetched for this consultation.
      const token = first ? await consultationToken(c.id) : null;
      await api('PUT', `/v1/consultations/${c.id}/answer`, { body: { answers, ...(token ? { token: { input: token.input, output: token.output } } : {}) } });
      if (token) await consultationToken(c.id, true);
      await reload();
      flash(first ? '已提交，谢谢！截止前可以修改。' : '已修改。');
    }, err);
  });
  return form;
}

/** The outbox's name for a consultation's anonymous answer. */
const sidOf = (id) => `consultation-${id}`;
const pendingOf = (id) => outbox.entries().find((e) => e.kind === 'step' && e.sid === sidOf(id));

/** The tracking code of an anonymous answer, shown once; gone from the phone when the member says it is saved. */
function codePart(e, reload) {
  const code = e.result?.answer?.tracking_code;
  if (!code) {
    // Sent again after an answer that was lost: it had arrived, its code with it.
    const ok = h('button', { type: 'button', onclick: async () => { outbox.remove(e.id); await reload(); } }, '知道了');
    return h('section', { class: 'card', 'aria-labelledby': 'cc-code-h' }, h('h2', { id: 'cc-code-h' }, '匿名反馈已送达'), h('p', {}, '上一次发送时已经送达，查询码在那次的回答里，没能收到。'), h('p', { class: 'actions' }, ok));
  }
  const status = h('p', { role: 'status', class: 'muted' });
  const copyBox = h('div');
  const copy = h('button', { type: 'button' }, '复制查询码');
  copy.addEventListener('click', () => copyText(code, status, copyBox));
  const done = h('button', { type: 'button', class: 'primary' }, '我已保存好查询码');
  const panel = confirmStep(done, '关闭后查询码不会再显示，本机也不保存。确定已经保存好了吗？', [], async () => {
    outbox.remove(e.id);
    await reload();
  });
  const release = e.result.answer.release_at ? `将在 ${when(e.result.answer.release_at).slice(11)} 与其他匿名反馈一起计入，之前谁也看不到。` : '';
  return h('section', { class: 'card', 'aria-labelledby': 'cc-code-h' },
    h('h2', { id: 'cc-code-h' }, '匿名反馈已送达'),
    h('p', {}, `${release}下面是它的查询码：`),
    h('p', { class: 'code', id: 'tracking-code', 'aria-label': `查询码 ${code.split('').join(' ')}` }, code.match(/.{1,4}/g).map((g) => [h('span', {}, g), ' '])),
    h('p', { class: 'warn-text' }, '查询码只显示这一次，服务里也不保存。截止前要修改匿名反馈，就要用它。'),
    h('div', { class: 'actions' }, copy), copyBox, status, done, panel);
}

/** The anonymous answer waiting in the outbox (or refused), on its consultation's page. */
function pendingPart(e) {
  const parts = [h('h2', { id: 'cc-wait-h' }, '我的匿名反馈')];
  if (e.state === 'failed') {
    const drop = h('button', { type: 'button', class: 'danger' }, '知道了，删除');
    drop.addEventListener('click', async () => {
      await outbox.discard(e.id);
      location.reload();
    });
    parts.push(notice(`未能送达：${e.error}`, 'error'), h('p', { class: 'actions' }, drop));
  } else if (e.notBefore > Date.now()) {
    parts.push(h('p', { class: 'notice' }, `已保存在本机，将于 ${when(new Date(e.deadline).toISOString()).slice(11)} 前匿名送达。`),
      h('p', {}, '为了不让送达时间透露您是什么时候写的，匿名反馈会在这之前的一个随机时刻发出。请让意见箱开着，或者之后再打开它；送达后这里会显示查询码。'));
  } else parts.push(h('p', {}, navigator.onLine ? '正在发送，请稍候。' : '现在没有网络：已保存在本机，联网后自动发送，只会送达一次。'));
  return h('section', { class: 'card', 'aria-labelledby': 'cc-wait-h' }, parts);
}

/** Changing an anonymous answer with its tracking code (kept in memory only). */
function byCodePart(c) {
  const code = field('查询码', h('input', { name: 'code', autocapitalize: 'characters', autocomplete: 'off', spellcheck: 'false' }), '匿名反馈时显示的码');
  const err = h('div');
  const go = h('button', { type: 'submit' }, '用查询码修改匿名反馈');
  const out = h('div');
  const form = h('form', { novalidate: true }, code, err, go);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(go, async () => {
      const tracking = code.control.value.replace(/[\s-]/g, '').toUpperCase();
      if (!tracking) throw new FieldError(code.control, '请填写查询码');
      const mine = await api('GET', `/v1/consultations/${c.id}/anonymous-answer/mine`, { tracking });
      const last = mine.held.at(-1)?.answers ?? mine.answers ?? {};
      const inputs = c.questions.map((q) => questionInput(q, last[q.position] ?? last[String(q.position)]));
      const err2 = h('div');
      const save = h('button', { type: 'submit', class: 'primary' }, '保存修改');
      const edit = h('form', { novalidate: true }, inputs, err2, save);
      edit.addEventListener('submit', (ev2) => {
        ev2.preventDefault();
        busy(save, async () => {
          const r = await api('PUT', `/v1/consultations/${c.id}/anonymous-answer/mine`, { tracking, body: { answers: readAnswers(c, inputs) } });
          out.replaceChildren(notice(r.release_at ? `已修改，将在 ${when(r.release_at).slice(11)} 计入。` : '已修改。'));
          out.tabIndex = -1;
          out.focus();
        }, err2);
      });
      form.hidden = true;
      out.replaceChildren(edit);
    }, err);
  });
  return section('cc-code-edit-h', '修改匿名反馈', form, out);
}

// ---- one consultation --------------------------------------------------------------------

function countsLine(k) {
  return `已反馈 ${k.named + k.anonymous} / ${k.eligible}（实名 ${k.named}，匿名 ${k.anonymous}）`;
}

function resultsPart(r) {
  const parts = [h('p', {}, countsLine(r)), h('p', { class: 'muted' }, `作答不到 ${r.min_basis} 人的题，数字和原文都不显示，以免猜出是谁。`)];
  for (const q of r.questions) {
    const head = h('h3', {}, `${q.position}. ${q.prompt}`);
    if (q.withheld) {
      parts.push(head, h('p', { class: 'muted' }, `${q.answers} 人作答，人数太少，不显示。`));
      continue;
    }
    parts.push(head, h('p', { class: 'meta' }, `${q.answers} 人作答`));
    if (q.counts) {
      const max = Math.max(1, ...q.counts.map((x) => x.count ?? 0));
      parts.push(bars('各选项人数', q.counts.map((x) => ({ label: x.choice.slice(0, 8), value: x.count, text: x.count === null ? '不显示' : `${x.count} 人` })), max));
    }
    if (q.distribution) {
      const max = Math.max(1, ...q.distribution.map((x) => x.count ?? 0));
      parts.push(bars(`打分分布（平均 ${q.mean === null ? '不显示' : q.mean.toFixed(1)} 分）`, q.distribution.map((x) => ({ label: `${x.rating} 分`, value: x.count, text: x.count === null ? '不显示' : `${x.count} 人` })), max));
    }
    if (q.texts) parts.push(q.texts.length ? h('ul', { class: 'texts' }, q.texts.map((t) => h('li', { class: 'text' }, t))) : h('p', { class: 'muted' }, '没有人填写。'));
    if (q.subjects) parts.push(h('ul', {}, q.subjects.map((s) => h('li', {}, `${s.display_name}：${s.opinions} 条意见`))));
  }
  return parts;
}

/** The hand-over of the opinions on each committee member, and the approval of their response. */
function handoverPart(c, r, reload) {
  const q = r.questions.find((x) => x.subjects);
  if (!q) return null;
  const rows = q.subjects.map((s) => {
    const self = s.account_id === state.me.id;
    const out = h('div', { role: 'status' });
    const facts = [`${s.opinions} 条意见`, s.handed_at ? `已于 ${when(s.handed_at)} 转交` : '尚未转交', s.response === null || s.response === undefined ? '整改措施未写' : s.approved_at ? '整改措施已批准' : '整改措施待批准'];
    const parts = [h('p', { class: 'title' }, s.display_name), h('p', { class: 'meta' }, facts.join(' · '))];
    if (s.response) parts.push(h('p', { class: 'text body' }, s.response));
    if (self) parts.push(h('p', { class: 'muted' }, '关于您本人的意见，由其他书记或管理员转交和批准。'));
    else if (c.you.may_manage && !s.handed_at) {
      const b = h('button', { type: 'button' }, `把意见转交${s.display_name}`);
      const panel = confirmStep(b, `确定把对${s.display_name}的 ${s.opinions} 条意见转交本人吗？`,
        [h('p', {}, '本人会看到这些意见的原文，不带作者、时间；转交后不能收回。')],
        async () => {
          await api('POST', `/v1/consultations/${c.id}/handovers/${s.account_id}`);
          await reload();
          flash(`已转交${s.display_name}。`);
        });
      parts.push(h('div', { class: 'act' }, b, panel));
    } else if (c.you.may_manage && s.response && !s.approved_at) {
      const b = h('button', { type: 'button', class: 'primary' }, `批准${s.display_name}的整改措施`);
      b.addEventListener('click', () => busy(b, async () => {
        await api('POST', `/v1/consultations/${c.id}/responses/${s.account_id}/approve`);
        await reload();
        flash(`已批准${s.display_name}的整改措施。`);
      }, out));
      parts.push(h('p', { class: 'actions' }, b), out);
    }
    return h('li', { class: 'item' }, parts);
  });
  return section('cho-h', '对支委的意见', h('p', { class: 'muted' }, '意见原文只转交本人；本人写出整改措施，由别人批准。'), h('ul', { class: 'list' }, rows));
}

/** For a committee member the opinions are about: the words handed over, and the response. */
async function myOpinionsPart(c, reload) {
  let o;
  try {
    o = await api('GET', `/v1/consultations/${c.id}/opinions`);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
  const parts = [h('p', { class: 'muted' }, `${when(o.handed_at)} 转交给您，不带作者和时间。`),
    o.opinions.length ? h('ul', { class: 'texts' }, o.opinions.map((t) => h('li', { class: 'text' }, t))) : h('p', {}, '没有对您的意见。')];
  if (o.response?.approved_at) {
    parts.push(h('h3', {}, '我的整改措施（已批准）'), h('p', { class: 'text body' }, o.response.body));
  } else {
    const text = field('我的整改措施', h('textarea', { name: 'response', rows: 6, maxlength: 5000, 'data-pointer': '/body' }), '写明改什么、怎么改、什么时候改好；由书记批准后公开。');
    text.control.value = o.response?.body ?? '';
    const err = h('div');
    const submit = h('button', { type: 'submit', class: 'primary' }, o.response ? '修改整改措施' : '提交整改措施');
    const form = h('form', { novalidate: true }, text, err, submit);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(submit, async () => {
        const body = text.control.value.trim();
        if (!body) throw new FieldError(text.control, '请填写整改措施');
        await api('PUT', `/v1/consultations/${c.id}/opinions/response`, { body: { body } });
        await reload();
        flash('整改措施已提交，等待批准。');
      }, err);
    });
    if (o.response) parts.push(h('p', { class: 'meta' }, `已于 ${when(o.response.written_at)} 提交，等待批准。`));
    parts.push(form);
  }
  return section('cmo-h', '大家对我的意见', ...parts);
}

async function detailPage(id) {
  const reload = () => detailPage(id);
  const c = await api('GET', `/v1/consultations/${id}`);
  // The token is fetched on opening, whatever the member means to do.
  const problem = await fetchConsultationToken(c).then(() => null, (e) => notice(e.message, 'error'));
  const tok = await consultationToken(c.id);
  // An answer without a name shows as one: it waits in the outbox, or the token is spent.
  const answered = c.you.answered || !!pendingOf(c.id) || (c.answer_mode !== 'named_only' && c.you.token_taken && !tok);
  title(c.title);
  const staff = !!c.counts;
  const now = Date.now();
  const answerable = c.status === 'open' && c.you.asked && Date.parse(c.opens_at) <= now && now < Date.parse(c.closes_at);
  const parts = [
    h('h1', {}, c.title),
    h('p', { class: 'meta' }, statusBadge(c), c.status === 'open' && c.you.asked ? answeredBadge(answered) : null, ` ${c.unit_name} · ${KIND[c.kind]}`),
    h('dl', { class: 'facts' },
      h('dt', {}, '开始'), h('dd', {}, beijing(c.opens_at)),
      h('dt', {}, '截止'), h('dd', {}, beijing(c.closes_at)),
      h('dt', {}, '作答'), h('dd', {}, MODE[c.answer_mode])),
    h('div', { class: 'body text' }, c.body),
  ];
  if (staff) parts.push(section('cc-h', '反馈情况', h('p', { class: 'count' }, countsLine(c.counts)), h('p', { class: 'muted' }, '只显示人数，看不到谁反馈了、谁没有。')));
  if (c.status === 'draft') {
    parts.push(section('cq-h', '问题', h('ol', {}, c.questions.map((q) => h('li', {}, `${q.prompt}（${QKIND[q.kind]}${q.choices ? `：${q.choices.join('、')}` : ''}${q.subjects ? `：${q.subjects.map((s) => s.display_name).join('、')}` : ''}）`)))));
    const acts = [];
    if (c.you.may_edit) acts.push(h('a', { class: 'button', href: `#/consult-edit/${c.id}` }, '修改草稿'));
    const out = h('div');
    if (c.you.may_manage) {
      const b = h('button', { type: 'button', class: 'primary' }, '开始征求意见');
      const panel = confirmStep(b, '确定开始征求意见吗？', [h('p', {}, `开始后成员就能看到并作答（${beijing(c.opens_at)} 起，${beijing(c.closes_at)} 截止），内容不能再改。`)], async () => {
        await api('POST', `/v1/consultations/${c.id}/open`);
        await reload();
        flash('已开始征求意见。');
      });
      acts.push(b);
      out.append(panel);
    } else acts.push(h('p', { class: 'muted' }, '起草好后请书记开始征求。'));
    parts.push(h('div', { class: 'act' }, h('p', { class: 'actions' }, acts), out));
  }
  if (c.status === 'open' && c.you.may_manage) {
    const b = h('button', { type: 'button', class: 'danger' }, '提前结束征求');
    const panel = confirmStep(b, '确定现在结束征求吗？', [h('p', {}, `结束后不再收反馈；现在${countsLine(c.counts)}。`)], async () => {
      await api('POST', `/v1/consultations/${c.id}/close`);
      await reload();
      flash('已结束征求。');
    });
    parts.push(h('div', { class: 'act' }, b, panel));
  }
  if (c.you.asked && c.status === 'open') {
    const e = pendingOf(c.id);
    if (problem) parts.push(problem);
    if (e?.state === 'delivered') parts.push(codePart(e, reload));
    else if (e) parts.push(pendingPart(e));
    else if (answerable) {
      const modes = [];
      if (c.answer_mode !== 'named_only' && tok && !c.you.answered) modes.push('anonymous');
      if (c.answer_mode !== 'anonymous_only' && (c.you.answered || tok || !c.you.token_taken)) modes.push('named');
      if (modes.length) parts.push(answerForm(c, reload, modes));
      else parts.push(notice('这次征求的匿名凭证已经用过（您已匿名反馈），或已不在本机（退出登录时会删除）。要修改匿名反馈，请用查询码。'));
      if (c.answer_mode !== 'named_only' && !c.you.answered) parts.push(byCodePart(c));
    }
  }
  if (c.status === 'open' && c.you.asked && now < Date.parse(c.opens_at)) parts.push(notice(`${beijing(c.opens_at)} 开始作答。`));
  if (c.status === 'closed') {
    if (staff) {
      let r = null;
      try {
        r = await api('GET', `/v1/consultations/${c.id}/results`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 409 && c.release_until) {
          // Anonymous answers held at the close are still to be counted: the page shows the results once they are.
          parts.push(notice(`最后的匿名反馈将在 ${when(c.release_until).slice(11)} 计入，之后这里显示结果。`));
          const here = location.hash;
          setTimeout(() => { if (location.hash === here) detailPage(id).catch(() => {}); }, Math.max(1000, Date.parse(c.release_until) - Date.now() + 1000));
        } else if (!(e instanceof ApiError && e.status === 403)) throw e;
      }
      if (r) {
        parts.push(section('cr-h', '结果', ...resultsPart(r), h('p', { class: 'actions' }, h('a', { class: 'button primary', href: `#/consult-themes/${c.id}` }, '归类意见'))));
        parts.push(handoverPart(c, r, reload));
      }
    } else parts.push(notice('征求已结束，谢谢参与。结果和支部的回应公布后会在这里显示。'));
    parts.push(await myOpinionsPart(c, reload));
  }
  parts.push(h('p', {}, h('a', { href: '#/consult' }, '所有征求意见')));
  mount(parts);
}

// ---- themes (归类) ----------------------------------------------------------------------

/** Grouping the free-text answers: tap answers, choose or create a theme. */
async function themesPage(id) {
  const c = await api('GET', `/v1/consultations/${id}`);
  title(`归类：${c.title}`);
  const prompts = new Map(c.questions.map((q) => [q.position, q.prompt]));
  let g = await api('GET', `/v1/consultations/${id}/themes`);
  const err = h('div');
  const box = h('div');
  const selected = () => [...box.querySelectorAll('input[name=item]:checked')].map((i) => i.value);
  const itemRow = (it) => h('li', { class: 'item pick' }, h('label', { class: 'choice wide' }, h('input', { type: 'checkbox', name: 'item', value: it.item }), h('span', {}, h('span', { class: 'text' }, it.text), h('br'), h('small', { class: 'meta' }, `第 ${it.position} 题：${prompts.get(it.position) ?? ''}`))));
  const theme = field('放入哪个主题', h('select', { name: 'theme' }));
  const newTitle = field('新主题的名称', h('input', { name: 'new_theme', maxlength: 100, 'data-pointer': '/title' }));
  const put = h('button', { type: 'button', class: 'primary' }, '放入主题');
  const back = h('button', { type: 'button' }, '移回未归类');
  const render = () => {
    theme.control.replaceChildren(...g.themes.map((t) => h('option', { value: t.id }, t.title)), h('option', { value: 'new' }, '新建主题…'));
    newTitle.hidden = g.themes.length > 0;
    box.replaceChildren(...nodes(
      h('h2', { id: 'ung-h' }, `未归类（${g.ungrouped.length}）`),
      g.ungrouped.length ? h('ul', { class: 'list', 'aria-labelledby': 'ung-h' }, g.ungrouped.map(itemRow)) : h('p', { class: 'muted' }, '全部意见都已归类。'),
      g.withheld ? h('p', { class: 'muted' }, `另有 ${g.withheld} 条意见所在的题作答不到 5 人，不显示、不归类。`) : null,
      ...g.themes.flatMap((t) => [
        h('h2', { id: `th-${t.id}` }, `${t.title}（${t.items.length}）`),
        t.items.length ? h('ul', { class: 'list', 'aria-labelledby': `th-${t.id}` }, t.items.map(itemRow)) : h('p', { class: 'muted' }, '还没有意见。'),
      ])));
  };
  theme.control.addEventListener('change', () => { newTitle.hidden = theme.control.value !== 'new'; });
  put.addEventListener('click', () => busy(put, async () => {
    const items = selected();
    if (!items.length) throw new Error('请先点选要归类的意见');
    let tid = theme.control.value;
    if (tid === 'new' || !tid) {
      const name = newTitle.control.value.trim();
      if (!name) throw new FieldError(newTitle.control, '请填写新主题的名称');
      g = await api('POST', `/v1/consultations/${id}/themes`, { body: { title: name } });
      tid = String(g.themes.find((t) => t.title === name)?.id);
      newTitle.control.value = '';
    }
    const t = g.themes.find((x) => String(x.id) === tid);
    g = await api('PUT', `/v1/consultations/${id}/themes/${tid}/items`, { body: { items: [...new Set([...t.items.map((x) => x.item), ...items])] } });
    render();
    theme.control.value = tid;
    newTitle.hidden = true;
    flash(`已把 ${items.length} 条意见放入“${t.title}”。`);
  }, err));
  back.addEventListener('click', () => busy(back, async () => {
    const items = new Set(selected());
    if (!items.size) throw new Error('请先点选要移回的意见');
    for (const t of g.themes.filter((x) => x.items.some((i) => items.has(i.item)))) {
      g = await api('PUT', `/v1/consultations/${id}/themes/${t.id}/items`, { body: { items: t.items.map((x) => x.item).filter((x) => !items.has(x)) } });
    }
    render();
    flash(`已把 ${items.size} 条意见移回未归类。`);
  }, err));
  render();
  mount(
    h('h1', {}, '归类意见'),
    h('p', {}, h('a', { href: `#/consult/${id}` }, c.title)),
    h('p', { class: 'muted' }, '点选意见，再选主题（或新建一个），按“放入主题”。每条意见只属于一个主题，没归类的都列在“未归类”里，一条也不会丢。'),
    h('div', { role: 'group', 'aria-label': '归类操作' }, theme, newTitle, err, h('p', { class: 'actions' }, put, back)),
    box,
  );
}

// The page of a consultation whose anonymous answer has just arrived (or
// been refused) shows it.
const seenState = new Map();
outbox.onChange((list) => {
  const m = /^#\/consult\/(\d+)$/.exec(location.hash);
  if (!m) return;
  const st = list.find((x) => x.kind === 'step' && x.sid === sidOf(m[1]))?.state;
  const before = seenState.get(m[1]);
  seenState.set(m[1], st);
  if (st !== before && (st === 'delivered' || st === 'failed')) detailPage(m[1]).catch(() => {});
});

export const pages = {
  consult: (arg) => (arg ? detailPage(decodeURIComponent(arg)) : listPage()),
  'consult-new': newPage,
  'consult-edit': editPage,
  'consult-themes': themesPage,
};
