// Every screen of the client: the first part of its hash route (#/write ->
// 'write') and its page title. The router opens only the screens listed
// here (anything else is 没有这个页面), and the browser test
// tests/e2e/screens.test.mjs visits each of them as member, committee
// member and secretary (axe-core, no English, 320 px at 200% text, dark
// mode) and fails on a screen listed here that it does not visit: a new
// screen is added here, and a visit of it there.
export const SCREENS = {
  '': '我的意见',
  activate: '激活账号',
  write: '写意见',
  sent: '发送结果',
  outbox: '发送记录',
  s: '意见',
  suggestions: '意见',
  track: '用查询码查看',
  board: '公开栏',
  inbox: '待办',
  stats: '统计',
  notifications: '通知',
  logout: '退出',
  console: '支部管理',
  // Consultations (征求意见, web/src/consult.js); their pages set their own titles.
  consult: '征求意见',
  'consult-new': '发起征求意见',
  'consult-edit': '修改征求意见',
  'consult-themes': '归类意见',
};
