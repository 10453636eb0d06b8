// One suggestion as its reader may act on it: the author (signed in, or the
// holder of a tracking code), a handler (assignee, committee, secretary),
// or a member who may only co-sign.
import { api } from './api.js';
import { perform } from './outbox.js';
import { takeToken, returnToken } from './tokens.js';
import { DECISION, FieldError, RATING, STATUS, badge, busy, confirmStep, day, field, flash, h, notice, shareLink, when } from './ui.js';

function facts(s) {
  const row = (k, v) => (v ? [h('dt', {}, k), h('dd', {}, v)] : []);
  return h('dl', { class: 'facts' },
    row('编号', s.id),
    row('单位', s.unit_name),
    row('类别', s.category_name),
    row('提出人', s.anonymous ? '匿名' : s.author_name ?? ''),
    row('提交时间', when(s.created_at)),
    s.status === 'submitted' ? row('受理期限', day(s.ack_due)) : [],
    s.status === 'submitted' || s.status === 'accepted' ? row('答复期限', day(s.answer_due)) : [],
    row('承办人', s.assignee_name),
    row('附议', `${s.cosign_count} 人`),
    s.merged_into ? row('已合并到', h('a', { href: `#/s/${s.merged_into}` }, s.merged_into)) : [],
    s.escalated_to ? row('已上报', s.escalation_reason ?? '超期未答复') : [],
  );
}

const STEP = {
  submit: '提交', accept: '受理', assign: '改派', draft_answer: '起草答复', answer: '答复',
  approve: '审批答复', rate: '评价', reopen: '重新办理', withdraw: '撤回', merge: '合并',
  publish: '在公开栏公开', escalate: '超期上报',
};

/** The steps of the workflow so far, oldest first, as a timeline. */
function timeline(s) {
  const steps = (s.history ?? []).map((e) => ({ at: e.at, what: STEP[e.action.split('.').pop()] })).filter((e) => e.what);
  if (!steps.length) return null;
  return h('section', { 'aria-labelledby': 'tl-h' },
    h('h2', { id: 'tl-h' }, '办理进度'),
    h('ol', { class: 'timeline' }, steps.map((e) => h('li', {}, h('span', { class: 'step' }, e.what), ' ', h('span', { class: 'meta' }, when(e.at))))));
}

function answerBlock(s) {
  const a = s.answer;
  if (!a) return null;
  const released = s.status === 'answered' || s.status === 'published' || a.approved;
  return h('section', { class: `answer ${released ? '' : 'draft'}`, 'aria-labelledby': 'ans-h' },
    h('h2', { id: 'ans-h' }, released ? '答复' : '答复草稿（待审批，提出人还看不到）'),
    h('p', {}, h('span', { class: `badge d-${a.decision}` }, DECISION[a.decision])),
    h('p', { class: 'text' }, a.body),
    a.reason ? h('p', { class: 'text' }, `理由：${a.reason}`) : null,
    h('p', { class: 'muted' }, `${a.drafted_by_name} ${when(a.drafted_at)}${a.approved ? ` · 已审批 ${when(a.approved_at)}` : ''}`),
  );
}

function thread(s) {
  if (!s.messages.length) return null;
  return h('section', { 'aria-labelledby': 'msg-h' },
    h('h2', { id: 'msg-h' }, '沟通记录'),
    h('ol', { class: 'thread' }, s.messages.map((m) =>
      h('li', { class: `msg ${m.author_kind} ${m.visibility}` },
        h('div', { class: 'meta' }, m.author_kind === 'submitter' ? '提出人' : m.author_kind === 'system' ? '系统' : m.author_name, m.visibility === 'internal' ? ' · 内部' : '', ` · ${when(m.created_at)}`),
        h('p', { class: 'text' }, m.body)))));
}

// A step goes through the outbox (outbox.js): without a network it waits
// on the phone with its Idempotency-Key and is sent once when it returns.
const QUEUED = '现在没有网络：已保存在本机，联网后自动发送，只会送达一次。';
const STEP_NAME = {
  accept: '受理', messages: '留言', answer: '保存答复', 'answer/approve': '审批答复', assign: '改派',
  merge: '合并', rating: '评价', reopen: '请求重新答复', withdraw: '撤回', cosign: '附议', shown: '向本支部公开',
};
/** Takes step p (a path under the suggestion) through the outbox. */
function step(s, p, body, method = 'POST', token = null) {
  const name = token ? '匿名附议' : STEP_NAME[p] ?? p;
  return perform({ method, path: `/v1/suggestions/${encodeURIComponent(s.id)}/${p}`, body, sid: s.id, label: s.title ? `${name}：${s.title}` : `${name} ${s.id}` }, token);
}
const said = (r, done) => {
  if (r?.deadline) return `已保存在本机，将于 ${when(new Date(r.deadline).toISOString()).slice(11, 16)} 前匿名送达（发送时刻是随机的，不会透露您是什么时候操作的）。`;
  return r?.queued ? QUEUED : done ?? '已完成。';
};

function form(title, controls, label, action, reload, done) {
  const err = h('div');
  const submit = h('button', { type: 'submit' }, label);
  const f = h('form', { class: 'card', novalidate: true }, h('h2', {}, title), controls, err, submit);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const r = await action();
      await reload();
      flash(said(r, done));
    }, err);
  });
  return f;
}

function button(label, action, reload, cls, done) {
  const err = h('div');
  const b = h('button', { type: 'button', class: cls }, label);
  b.addEventListener('click', () => busy(b, async () => {
    const r = await action();
    await reload();
    flash(said(r, done));
  }, err));
  return h('div', { class: 'act' }, b, err);
}

/** A button whose step cannot be undone: confirmed in the page with a preview first. */
function confirmed(label, question, preview, action, reload, done) {
  const b = h('button', { type: 'button', class: 'danger' }, label);
  const panel = confirmStep(b, question, preview, async () => {
    const r = await action();
    await reload();
    flash(said(r, done));
  });
  return h('div', { class: 'act' }, b, panel);
}

/** The author's part: rate, reopen, reply, withdraw. call(method, path, body) talks as the author. */
function authorPart(s, call, reload) {
  const parts = [];
  const round = s.reopened ? 1 : 0;
  const rated = s.ratings.find((r) => r.round === round);
  if ((s.status === 'answered' || s.status === 'published') && s.answer && !rated) {
    const choice = h('fieldset', { class: 'modes' }, h('legend', {}, '您对答复满意吗？'),
      Object.entries(RATING).map(([v, t]) => h('label', { class: 'choice' }, h('input', { type: 'radio', name: 'rating', value: v, required: true }), t)));
    parts.push(form('评价答复', choice, '提交评价', () => {
      const v = choice.querySelector('input:checked')?.value;
      if (!v) throw new FieldError(choice.querySelector('input'), '请选择一项');
      return call('rating', { rating: v });
    }, reload, '评价已提交，谢谢。'));
  }
  if (s.ratings.length) parts.push(h('p', {}, '您的评价：', s.ratings.map((r) => h('span', { class: 'badge' }, RATING[r.rating])) ));
  if (rated?.rating === 'unsatisfied' && !s.reopened && s.status === 'answered') parts.push(button('不满意，请求重新答复', () => call('reopen'), reload, null, '已请求重新答复，承办人会重新办理。'));
  else if (rated?.rating === 'unsatisfied' && s.status === 'published') {
    parts.push(h('p', { class: 'notice' }, '答复已经在公开栏公开，不能再请求重新答复。如果还有意见，可以在下面留言，或者写一条新意见。'));
  } else if (rated?.rating === 'unsatisfied' && s.reopened) {
    parts.push(h('p', { class: 'notice' }, '这条意见已经重新办理过一次，不能再请求重新答复。如果还有意见，可以在下面留言，或者写一条新意见。'));
  }
  const reply = field('给承办人留言', h('textarea', { name: 'reply', rows: 3, maxlength: 5000, 'data-pointer': '/body' }));
  parts.push(form('留言', reply, '发送留言', () => {
    const body = reply.control.value.trim();
    if (!body) throw new FieldError(reply.control, '请填写留言');
    return call('messages', { body });
  }, reload, '留言已发送。'));
  if (s.status === 'submitted') {
    parts.push(confirmed('撤回这条意见', '确定撤回这条意见吗？', [
      h('p', {}, `“${s.title}”`),
      h('p', {}, '撤回后这条意见不再办理，也不能恢复；附议它的人会看到它已撤回。'),
    ], () => call('withdraw'), reload, '意见已撤回。'));
  }
  return parts;
}

/**
 * The author's choice to show a named suggestion to the members of its unit
 * (PUT …/shown), with or without their name. The suggestion does not say
 * whether it is shown: the unit's list does, read here for the switch.
 */
function showPart(s, me, reload) {
  const on = h('input', { type: 'checkbox', role: 'switch', name: 'shown' });
  const named = h('input', { type: 'checkbox', name: 'show_name' });
  const what = h('p', { class: 'muted', 'aria-live': 'polite' });
  const explain = () => {
    named.disabled = !on.checked;
    what.textContent = on.checked
      ? `本支部的成员能在首页看到这条意见的标题、内容、状态和附议人数，并可以附议；提出人显示为${named.checked ? `“${me.display_name}”` : '“匿名”'}，沟通记录和答复不公开。`
      : '现在只有您和负责的支委能看到这条意见。';
  };
  on.addEventListener('change', explain);
  named.addEventListener('change', explain);
  explain();
  api('GET', `/v1/org-units/${s.unit_id}/shown-suggestions`).then((r) => {
    const mine = r.suggestions.find((x) => x.id === s.id);
    on.checked = !!mine;
    named.checked = !!mine?.author_name;
    explain();
  }).catch(() => {});
  const controls = [
    h('label', { class: 'choice' }, on, '向本支部成员公开'),
    h('label', { class: 'choice' }, named, '显示我的姓名'),
    what,
  ];
  return form('向本支部成员公开', controls, '保存', () => step(s, 'shown', { shown: on.checked, show_name: on.checked && named.checked }, 'PUT'), reload, '公开设置已保存。');
}

/** The handlers' part: accept, messages, answer, approve, reassign, merge. */
function handlerPart(s, o, reload) {
  const post = (p, body) => step(s, p, body);
  const parts = [];
  if (s.status === 'submitted') parts.push(button('受理', () => post('accept'), reload, 'primary', '已受理。'));
  const msg = field('留言内容', h('textarea', { name: 'message', rows: 3, maxlength: 5000, 'data-pointer': '/body' }));
  const vis = field('谁能看到', h('select', { name: 'visibility' }, h('option', { value: 'submitter' }, '提出人和支委'), h('option', { value: 'internal' }, '仅支委（内部）')));
  parts.push(form('留言', [msg, vis], '发送留言', () => {
    const body = msg.control.value.trim();
    if (!body) throw new FieldError(msg.control, '请填写留言');
    return post('messages', { body, visibility: vis.control.value });
  }, reload, '留言已发送。'));
  if (s.status === 'accepted') {
    const decision = field('答复结果', h('select', { name: 'decision' }, Object.entries(DECISION).map(([v, t]) => h('option', { value: v }, t))));
    const body = field('答复内容', h('textarea', { name: 'answer', rows: 5, maxlength: 5000, 'data-pointer': '/body' }));
    const reason = field('理由（不采纳时必填）', h('textarea', { name: 'reason', rows: 2, maxlength: 2000 }));
    if (s.answer) {
      decision.control.value = s.answer.decision;
      body.control.value = s.answer.body;
      reason.control.value = s.answer.reason ?? '';
    }
    parts.push(form(s.answer ? '修改答复' : '起草答复', [decision, body, reason], '保存答复', () => {
      const b = { decision: decision.control.value, body: body.control.value.trim() };
      if (!b.body) throw new FieldError(body.control, '请填写答复内容');
      if (reason.control.value.trim()) b.reason = reason.control.value.trim();
      return step(s, 'answer', b, 'PUT');
    }, reload, '答复已保存。'));
    if (s.answer && !s.answer.approved && o.secretary) parts.push(button('审批通过，发给提出人', () => post('answer/approve'), reload, 'primary', '答复已审批，提出人现在能看到了。'));
  }
  if (o.secretary && (s.status === 'submitted' || s.status === 'accepted')) {
    const who = field('改派给', h('select', { name: 'assignee' }, h('option', { value: '' }, '正在加载…')));
    const why = field('改派理由', h('input', { name: 'assign_reason', maxlength: 500, 'data-pointer': '/reason' }));
    who.control.dataset.pointer = '/assignee_id';
    api('GET', `/v1/org-units/${s.unit_id}/members?limit=500`).then((r) => {
      who.control.replaceChildren(h('option', { value: '' }, '请选择'), ...r.members
        .filter((m) => m.roles.some((x) => x === 'committee' || x === 'secretary'))
        .map((m) => h('option', { value: m.account_id ?? m.id }, `${m.display_name}${m.portfolios?.length ? `（${m.portfolios.join('、')}）` : ''}`)));
    }).catch(() => who.control.replaceChildren(h('option', { value: '' }, '无法加载成员')));
    parts.push(form('改派', [who, why], '改派', () => {
      if (!who.control.value) throw new FieldError(who.control, '请选择改派给谁');
      if (!why.control.value.trim()) throw new FieldError(why.control, '请填写理由');
      return post('assign', { assignee_id: Number(who.control.value), reason: why.control.value.trim() });
    }, reload, '已改派。'));
  }
  if (o.secretary && s.status === 'submitted') {
    const into = field('合并到（意见编号）', h('input', { name: 'into', placeholder: 'S-XXXXXX', autocapitalize: 'characters' }), '内容重复时使用：这条意见的附议人会转到那一条');
    const err = h('div');
    const go = h('button', { type: 'submit', class: 'danger' }, '合并');
    const target = () => into.control.value.trim().toUpperCase();
    // Nothing to preview without an id: say so at the field.
    go.addEventListener('click', (ev) => {
      if (!target()) {
        ev.stopImmediatePropagation();
        busy(go, async () => { throw new FieldError(into.control, '请填写意见编号'); }, err);
      }
    }, { capture: true });
    const panel = confirmStep(go, '确定合并吗？', async () => {
      const t = await api('GET', `/v1/suggestions/${encodeURIComponent(target())}`);
      return [
        h('p', {}, `把“${s.title}”（${s.id}）合并到：`),
        h('p', { class: 'title' }, `“${t.title}”（${t.id}，${STATUS[t.status] ?? ''}）`),
        h('p', {}, '合并后这条意见不再单独办理，附议人转到那一条；不能撤销。'),
      ];
    }, async () => {
      const r = await post('merge', { into: target() });
      await reload();
      flash(said(r, '已合并。'));
    });
    const f = h('form', { class: 'card' }, h('h2', {}, '合并重复意见'), into, err, go, panel);
    f.addEventListener('submit', (ev) => ev.preventDefault());
    parts.push(f);
  }
  return parts;
}

/** Co-signing, named or anonymous (with a token of the suggestion's unit, no session). */
function cosignPart(id, unit, title) {
  const done = h('div');
  const s = { id, title };
  const named = button('实名附议', async () => {
    const r = await step(s, 'cosign');
    done.replaceChildren(notice(r.queued ? QUEUED : '已附议，谢谢。'));
    return r;
  }, async () => {}, 'primary');
  const anon = button('匿名附议', async () => {
    if (unit != null) {
      // Its unit is known: one token of it, through the outbox.
      const t = await takeToken(unit, []);
      if (!t) throw new Error('本机没有可用于这个单位的匿名凭证');
      const r = await step(s, 'cosign', undefined, 'POST', t);
      done.replaceChildren(notice(r.queued ? said(r) : '已匿名附议，谢谢。'));
      return r;
    }
    // A token of the suggestion's unit; when its unit is not known, one of
    // each unit from the top down until one is accepted (a refused one is
    // not spent).
    const tried = [];
    for (;;) {
      const t = await takeToken(unit, tried);
      if (!t) throw new Error('本机没有可用于这个单位的匿名凭证');
      try {
        await api('POST', `/v1/suggestions/${encodeURIComponent(id)}/cosign`, { auth: false, body: { token: { key_id: t.key_id, input: t.input, output: t.output } } });
        break;
      } catch (e) {
        if (e.type !== 'token-spent' && e.status !== 409) await returnToken(t);
        if (unit == null && e.type === 'invalid-token') {
          tried.push(t.unit_id);
          continue;
        }
        throw e;
      }
    }
    done.replaceChildren(notice('已匿名附议，谢谢。'));
  }, async () => {});
  return h('section', { class: 'card', 'aria-labelledby': 'cs-h' }, h('h2', { id: 'cs-h' }, '附议'), h('p', {}, '同意这条意见？附议会让它更受重视。'), named, anon, done);
}

/** Asking colleagues to co-sign: the link through the share sheet, or copied (WeChat has no share sheet for pages). */
function sharePart(s) {
  const status = h('p', { role: 'status', class: 'muted' });
  const where = h('div');
  const b = h('button', { type: 'button' }, '请同事附议');
  b.addEventListener('click', () => shareLink(`请附议：${s.title}（${s.id}）`, `${location.origin}/#/s/${s.id}`, status, where));
  return h('div', { class: 'act share' }, b, where, status);
}

const HELD = { cosign: '附议', message: '留言', rate: '评价', withdraw: '撤回', reopen: '请求重新答复' };

/**
 * What the service holds for this code until its release window ends
 * (`held`): each step 待送达 with the time it takes effect.
 */
function heldPart(s) {
  if (!s.held?.length) return null;
  return h('section', { 'aria-labelledby': 'held-h' },
    h('h2', { id: 'held-h' }, '已送达，待生效'),
    h('p', { class: 'muted' }, '匿名操作在本时段结束时和其他人的一起生效，这样谁也看不出是什么时候做的。'),
    h('ul', { class: 'list', 'aria-label': '待生效的匿名操作' }, s.held.map((x) =>
      h('li', { class: 'item' },
        h('span', { class: 'title' }, `${HELD[x.kind] ?? x.kind}${x.rating ? `：${RATING[x.rating] ?? x.rating}` : ''}${x.body ? `：${x.body}` : ''}`),
        h('div', { class: 'meta' }, h('span', { class: 'badge s-pending' }, '待送达'), ` 将于 ${when(x.release_at).slice(11, 16)} 生效`)))));
}

/** An anonymous suggestion still held in its release window: nobody else sees it yet. */
function pendingSuggestion(s) {
  return [
    h('h1', {}, s.title),
    h('p', { class: 'meta' }, badge('pending')),
    h('p', { class: 'notice' }, `已送达，将于 ${when(s.release_at)} 和本时段的其他匿名意见一起交给支委。在这之前谁也看不到它，也不能对它操作。`),
    h('p', { class: 'text body' }, s.body),
  ];
}

/**
 * s: the suggestion (null when the caller may not read it: only co-signing).
 * o: {me, handler, secretary, tracking, reload, id}
 */
export function renderSuggestion(s, o) {
  if (!s && o.shown) {
    // Shown to the member's unit by its author: what the unit's list gave.
    const x = o.shown;
    return [
      h('h1', {}, x.title),
      h('p', { class: 'meta' }, badge(x.status)),
      h('dl', { class: 'facts' }, h('dt', {}, '编号'), h('dd', {}, x.id), h('dt', {}, '提出人'), h('dd', {}, x.author_name ?? '匿名'),
        h('dt', {}, '提交时间'), h('dd', {}, when(x.created_at)), h('dt', {}, '附议'), h('dd', {}, `${x.cosign_count} 人`)),
      h('p', { class: 'text body' }, x.body),
      h('p', { class: 'muted' }, '提出人向本支部成员公开了这条意见；沟通记录和答复只有提出人和负责的支委能看到。'),
      cosignPart(x.id, x.unit_id, x.title),
    ];
  }
  if (!s) {
    return [h('h1', {}, `意见 ${o.id}`), h('p', {}, '您看不到这条意见的内容（只有提出人和负责的支委能看到），但可以附议。'), cosignPart(o.id)];
  }
  if (s.status === 'pending') return pendingSuggestion(s);
  const tracked = !!o.tracking;
  const author = tracked || (!s.anonymous && o.me && s.author_name === o.me.display_name);
  // A step taken with the tracking code is anonymous: it waits in the
  // outbox for its random moment before the window's end, like a submission.
  const call = tracked
    ? (p, body) => perform({ method: 'POST', path: `/v1/tracked/${p}`, body, sid: s.id, tracking: o.tracking, label: `${STEP_NAME[p] ?? p}：${s.title}` })
    : (p, body) => step(s, p, body);
  return [
    h('h1', {}, s.title),
    h('p', { class: 'meta' }, badge(s.status, s.overdue), s.reopened ? h('span', { class: 'badge' }, '已重新办理') : null),
    facts(s),
    timeline(s),
    h('p', { class: 'text body' }, s.body),
    !tracked && s.status !== 'withdrawn' && s.status !== 'merged' ? sharePart(s) : null,
    answerBlock(s),
    thread(s),
    tracked ? heldPart(s) : null,
    author ? authorPart(s, call, o.reload) : null,
    author && !tracked && !s.anonymous && s.status !== 'withdrawn' && s.status !== 'merged' ? showPart(s, o.me, o.reload) : null,
    !author && o.handler ? handlerPart(s, o, o.reload) : null,
    !author && !tracked && !o.handler ? cosignPart(s.id, s.unit_id, s.title) : null,
  ];
}
