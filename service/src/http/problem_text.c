/* The Chinese catalogue of problem titles and details (problem_text.h).
 * A new detail in a handler needs its line here: the unit test
 * tests/unit/http/problem_text.c reads service/src and fails on any detail
 * string without one. */
#include "http/problem_text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const titles_zh[PROBLEM__COUNT] = {
    [PROBLEM_MALFORMED_JSON] = "请求内容不是有效的 JSON",
    [PROBLEM_INVALID_UTF8] = "请求内容不是有效的 UTF-8 文字",
    [PROBLEM_UNAUTHORIZED] = "请先登录",
    [PROBLEM_INVALID_CREDENTIALS] = "账号或密码不正确",
    [PROBLEM_ACTIVATION_FAILED] = "激活码不正确、已用过或已过期",
    [PROBLEM_FORBIDDEN] = "您没有权限做这件事",
    [PROBLEM_NOT_FOUND] = "没有找到",
    [PROBLEM_METHOD_NOT_ALLOWED] = "不支持这种请求方式",
    [PROBLEM_CONFLICT] = "当前状态不允许这样做",
    [PROBLEM_PAYLOAD_TOO_LARGE] = "内容太长",
    [PROBLEM_URI_TOO_LONG] = "网址太长",
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = "请求内容须为 JSON 格式",
    [PROBLEM_VALIDATION_FAILED] = "填写的内容有误",
    [PROBLEM_TOO_MANY_ATTEMPTS] = "尝试次数太多，请稍后再试",
    [PROBLEM_INTERNAL_ERROR] = "服务内部出错",
    [PROBLEM_DATABASE_UNAVAILABLE] = "服务暂时繁忙，请稍后重试",
    [PROBLEM_TOKEN_QUOTA_EXHAUSTED] = "本期的匿名凭证已经领完",
    [PROBLEM_INVALID_TOKEN] = "服务不认这张匿名凭证",
    [PROBLEM_TOKEN_SPENT] = "这张匿名凭证已经用过",
    [PROBLEM_INVALID_TRACKING_CODE] = "查询码不正确",
    [PROBLEM_BAD_FRAMING] = "请求的长度标注不明确，已拒绝",
};

struct text {
    const char *en;
    const char *zh;
};

/* Keep each group in the order of its source file. */
static const struct text details[] = {
    /* http/server.c, http/validate.c */
    { "no such path", "没有这个地址" },
    { "Content-Length and Transfer-Encoding together", "请求同时标了 Content-Length 和 Transfer-Encoding" },
    { "more than one Content-Length", "请求标了不止一个 Content-Length" },
    { "a Transfer-Encoding other than one chunked", "请求的 Transfer-Encoding 只能是一个 chunked" },
    { "a header name that is not a token", "请求头的名称不合规范" },
    { "%s (at byte %d)", "请求内容不是有效的 JSON（第 %2 字节附近）" },
    { "must be a JSON object", "请求内容须为一个 JSON 对象" },
    { "is required", "必须填写" },
    { "must be a string", "须为文字" },
    { "must be %zu characters", "长度须为 %1 个字" },
    { "must be %zu to %zu characters", "长度须为 %1 到 %2 个字" },
    { "must not be null", "不能为空值" },
    { "must be a positive integer", "须为正整数" },
    { "must be true or false", "须为是（true）或否（false）" },
    { "must be an array of at most %zu strings", "须为最多 %1 项的文字列表" },
    { "is a duplicate", "与前面的重复" },
    { "must not start or end with white space", "开头和结尾不能有空格" },
    { "must not be blank", "不能只有空格或看不见的字符" },
    { "must not contain control characters", "不能含有控制字符" },
    { "must be a whole number from %lld to %lld", "须为 %1 到 %2 之间的整数" },
    /* domain/ */
    { "no \"bulletin\" object", "缺少公开栏内容（bulletin）" },
    { "\"public_key\" is not 32 bytes of base64", "公钥（public_key）不是 32 字节的 base64" },
    { "\"signature\" is not 64 bytes of base64", "签名（signature）不是 64 字节的 base64" },
    { "signed with another key than the one given", "签名用的不是所给的公钥" },
    { "the signature does not match the content", "签名与内容不符" },
    { "must be an object {key_id, input, output}", "匿名凭证须包含 key_id、input、output 三项" },
    { "must be a key id from GET /v1/tokens/keys", "须为服务公布的凭证密钥编号" },
    { "is not a key id of this service", "不是本服务的凭证密钥编号" },
    { "names a key whose tokens are not redeemable now", "这批匿名凭证现在不能使用（已过期或尚未生效）" },
    { "must be 16 to 128 bytes as base64url without padding", "须为 16 到 128 字节的 base64url（不带补位）" },
    { "must be 64 bytes as base64url without padding", "须为 64 字节的 base64url（不带补位）" },
    { "session expired or signed out", "登录已过期或已退出，请重新登录" },
    { "the thread holds %lld messages; MESSAGES_PER_SUGGESTION allows %u", "这条意见已有 %1 条留言，最多只能有 %2 条" },
    { "%lld messages to this suggestion in the last 24 hours; MESSAGES_PER_DAY allows %u", "24 小时内已对这条意见留言 %1 条，最多只能 %2 条，请稍后再试" },
    { "only its author shows a suggestion to the unit", "只有提意见的人本人才能把意见展示给本支部" },
    { "an anonymous suggestion is not shown to the unit", "匿名意见不能展示给本支部" },
    /* routes/accounts.c, audit.c, auth.c */
    { "roles need a unit_id", "指定角色时须同时指定单位" },
    { "an account with that login exists", "这个账号已经有人用了" },
    { "object_type: 1 to 50 of a-z and _", "对象类型（object_type）须为 1 到 50 个小写字母或下划线" },
    { "object_id: 1 to 200 bytes of UTF-8", "对象编号（object_id）须为 1 到 200 字节" },
    { "object_id: only with object_type", "对象编号（object_id）须与对象类型（object_type）一起给出" },
    { "actor_id: expected a positive id", "操作人（actor_id）须为正整数编号" },
    { "give object_type (and object_id) or actor_id", "请给出对象类型（及编号）或操作人" },
    { "give object_type or actor_id, not both", "对象类型和操作人只能给出一项" },
    { "cursor: expected the next_cursor of the previous page", "翻页位置（cursor）须为上一页给出的 next_cursor" },
    { "limit: 1 to 200", "每页条数（limit）须为 1 到 200" },
    { "a verification of the audit log is already running; retry when it is done",
      "审计记录正在核验中，请等它完成后再试" },
    { "out of memory hashing the password", "服务内存不足，密码未能保存，请稍后重试" },
    /* routes/bulletins.c, caller.c, health.c */
    { "no such bulletin", "没有这一期公开栏" },
    { "must be a bulletin of the same unit", "须为同一单位的一期公开栏" },
    { "nothing to publish: no answered suggestion is waiting", "没有待公开的答复" },
    { "unit: expected a positive id", "单位（unit）须为正整数编号" },
    { "unit: expected the id of the unit whose keys to list", "单位（unit）须为要查看其密钥的单位编号" },
    { "your roles do not allow this", "您的角色不能做这件事" },
    { "no such unit", "没有这个单位" },
    { "no such portfolio in this unit", "这个单位没有这项分工" },
    { "a unit is retired only after its sub-units, and brought back only under a unit in use",
      "须先停用全部下级单位才能停用本单位；上级单位已停用时，不能恢复本单位" },
    { "database schema is not migrated yet", "数据库还没有升级到本版本" },
    { "database schema is newer than this binary", "数据库的版本比本程序新" },
    { "the database is not answering (a call passed its deadline %lld s ago)",
      "数据库没有响应（%1 秒前有一次调用超时）" },
    /* routes/notifications.c */
    { "no such notification", "没有这条通知" },
    { "unread: true or false", "未读（unread）须为 true 或 false" },
    { "limit: 1 to 100", "每页条数（limit）须为 1 到 100" },
    { "cursor: a positive id", "翻页位置（cursor）须为正整数编号" },
    { "must be json, wecom, dingtalk, wecom_app or dingtalk_app",
      "须为 json、wecom（企业微信群机器人）、dingtalk（钉钉群机器人）、wecom_app（企业微信应用）或 dingtalk_app（钉钉工作通知）" },
    { "an application belongs to a unit, not to an account", "企业微信应用和钉钉工作通知只能由单位设置，不能设在个人名下" },
    { "cursor: a positive id", "翻页位置（cursor）须为正整数编号" },
    { "limit: 1 to 100", "每页条数（limit）须为 1 到 100" },
    { "is required: the generic webhook is always signed", "必须填写：通用网络钩子一律签名" },
    { "must be at least 16 characters", "至少 16 个字符" },
    { "a WeCom group robot has no secret (its key is in the URL)", "企业微信群机器人不用密钥（密钥已在网址里）" },
    { "no such webhook", "没有这个网络钩子" },
    { "no such webhook in this unit", "这个单位没有这个网络钩子" },
    { "no such webhook of yours", "您没有这个网络钩子" },
    { "status: pending, delivered or dead", "状态（status）须为 pending、delivered 或 dead" },
    { "no such delivery", "没有这次投递" },
    { "no such delivery to this unit's webhooks", "这个单位的网络钩子没有这次投递" },
    { "no such delivery to your webhooks", "您的网络钩子没有这次投递" },
    { "only a dead delivery is retried; this one is %s", "只有投递失败的才能重试，这一次的状态是%1" },
    /* routes/messenger.c */
    { "an application has no URL: give its ids and secret", "应用不填网址，请填写应用的编号和密钥" },
    { "must be letters, digits, _ - . or @", "只能由字母、数字和 _ - . @ 组成" },
    { "a WeCom application takes corp_id", "企业微信应用请填写企业 ID（corp_id）" },
    { "a DingTalk application takes app_key", "钉钉应用请填写 AppKey（app_key）" },
    /* routes/stats.c */
    { "from: expected a day, YYYY-MM-DD", "开始日期（from）须为 YYYY-MM-DD 格式的日期" },
    { "to: expected a day, YYYY-MM-DD", "结束日期（to）须为 YYYY-MM-DD 格式的日期" },
    { "from: after to", "开始日期不能晚于结束日期" },
    /* routes/slips.c */
    { "must be 1 to 60 distinct account ids", "须为 1 到 60 个不重复的账号编号" },
    /* routes/ledger.c */
    { "format: expected xlsx, csv or html", "格式（format）须为 xlsx、csv 或 html" },
    { "the period holds more than 10000 suggestions; choose a shorter one", "这段时间的意见超过 10000 条，请选短一些的时间段" },
    /* routes/suggestions.c */
    { "must be a whole number of days from 0 to 365", "须为 0 到 365 之间的整天数" },
    { "must be at least 1", "至少为 1" },
    { "must be at least ack_days", "不能少于受理期限天数" },
    { "the unit already has a category of that name", "这个单位已经有同名的类别" },
    { "give at least one field to change", "请至少填写一项要修改的内容" },
    { "no such category", "没有这个类别" },
    /* consultations */
    { "no such consultation", "没有这项征求意见" },
    { "must be life_meeting, before_decision or blank", "须为 life_meeting（组织生活会）、before_decision（决策前）或 blank（空白）" },
    { "must be named_only, anonymous_allowed or anonymous_only", "须为 named_only（仅实名）、anonymous_allowed（可匿名）或 anonymous_only（仅匿名）" },
    { "must be a time like 2026-12-07T09:00:00+08:00", "须为形如 2026-12-07T09:00:00+08:00 的时间" },
    { "must be an array", "须为数组" },
    { "must be an object of answers by question position", "须为按题号给出的回答" },
    { "must be 1 to 50 questions", "须有 1 到 50 道题" },
    { "must have a kind: text, single, multiple, rating or member_opinions", "须注明题型：text（填空）、single（单选）、multiple（多选）、rating（评分）或 member_opinions（对支委的意见）" },
    { "must have a prompt of 1 to 500 characters", "题目须为 1 到 500 个字" },
    { "only a choice question has choices", "只有选择题才有选项" },
    { "a choice question needs 2 to 20 choices", "选择题须有 2 到 20 个选项" },
    { "each choice must be 1 to 100 characters", "每个选项须为 1 到 100 个字" },
    { "choices must be distinct", "选项不能重复" },
    { "answer at least one question", "请至少回答一道题" },
    { "no such question", "没有这道题" },
    { "does not fit its question", "与这道题的题型不符" },
    { "must be after opens_at", "须晚于开始时间" },
    { "a blank consultation needs title, body, answer_mode and questions", "空白征求意见须填写标题、正文、回答方式和题目" },
    { "only a draft can be edited", "只有草稿可以修改" },
    { "only a draft can be opened", "只有草稿可以发布" },
    { "its closing time has passed", "截止时间已过" },
    { "only an open consultation can be closed", "只有进行中的征求意见可以结束" },
    { "the consultation is not open for answers", "这项征求意见现在不接受回答" },
    { "this consultation takes anonymous answers only", "这项征求意见只接受匿名回答" },
    { "you are not among those it asks", "这项征求意见没有征求你的意见" },
    { "this consultation takes named answers only", "这项征求意见只接受署名回答" },
    { "a retired unit neither drafts nor opens consultations", "这个单位已停用，不能起草或发布征求意见" },
    { "your one token of this consultation was issued already", "这项征求意见的匿名凭证每人只有一张，你已经领过了" },
    { "your token of this consultation was issued: a first named answer spends it", "你已领取这项征求意见的匿名凭证，第一次署名回答时须同时交回这张凭证" },
    { "not a token of this consultation", "这不是这项征求意见的匿名凭证" },
    { "must be an object {input, output}", "匿名凭证须包含 input、output 两项" },
    { "results are shown after the close", "结束后才能查看结果" },
    { "no such theme", "没有这个归类" },
    { "no opinions are asked about that account here", "这项征求意见没有征集对该账号的意见" },
    { "there is no response waiting for approval", "没有待审核的整改措施" },
    { "what concerns you is handled by someone else", "涉及你本人的事项须由他人办理（回避）" },
    { "no opinions on you have been handed over", "还没有转交给你的意见" },
    { "the response is approved and final", "整改措施已审核，不能再修改" },
    { "the consultation already has a theme of that title", "这项征求意见已经有同名的归类" },
    { "an item is no text answer of this consultation", "有一条不是这项征求意见的文字回答" },
    { "must be an array of at most 10000 items", "须为最多 10000 条的数组" },
    { "no such category in this unit", "这个单位没有这个类别" },
    { "no such suggestion", "没有这条意见" },
    { "not a token of this service for the suggestion's unit", "这张匿名凭证不是这条意见所在单位的" },
    { "an anonymous suggestion has no name to publish", "匿名意见没有可以公开的姓名" },
    { "Idempotency-Key must be 1 to 200 characters", "请求编号（Idempotency-Key）须为 1 到 200 个字符" },
    { "say which unit: you belong to none or several", "请选择提给哪个单位：您不属于任何单位或属于多个单位" },
    { "not a unit of yours or above yours", "只能提给您所在的单位或上级单位" },
    { "not a category of that unit", "这个单位没有这个类别" },
    { "the unit is retired", "这个单位已停用，不再接收新意见" },
    { "the category is retired", "这个类别已停用，请选择其他类别" },
    { "Idempotency-Key was used with another body", "这个请求编号已用于另一条不同的内容" },
    { "status: not a status", "状态（status）不是有效的意见状态" },
    { "%s: expected %s", "查询参数 %1 须为%2" },
    { "assignee: only \"me\" is supported", "承办人（assignee）只能是 me（我）" },
    { "author: only \"me\" is supported", "提出人（author）只能是 me（我）" },
    { "overdue: true or false", "超期（overdue）须为 true 或 false" },
    { "q: 1 to 200 bytes", "搜索词（q）须为 1 到 200 字节" },
    { "cannot %s a suggestion that is %s", "这条意见%2，不能再%1" },
    { "only a secretary of the unit reassigns", "只有本单位的书记可以改派" },
    { "cannot assign a suggestion that is %s", "这条意见%1，不能再改派" },
    { "assignee_id: not a committee member or secretary of the unit or above", "只能改派给本单位或上级单位的支委或书记" },
    { "only a secretary of the unit merges", "只有本单位的书记可以合并意见" },
    { "into: a suggestion cannot merge into itself", "意见不能合并到它自己" },
    { "into: no such suggestion", "要合并到的意见不存在" },
    { "you do not manage the unit of the target", "要合并到的意见不在您管理的单位" },
    { "the target is withdrawn, merged or published", "要合并到的意见已撤回、已合并或已公开" },
    { "only the assignee or a secretary answers", "只有承办人或书记可以答复" },
    { "cannot answer a suggestion that is %s (accept it first)", "这条意见%1，不能答复（请先受理）" },
    { "only a secretary approves answers", "只有书记可以审批答复" },
    { "cannot approve an answer of a suggestion that is %s", "这条意见%1，不能审批答复" },
    { "there is no draft answer waiting for approval (status is accepted)", "没有等待审批的答复草稿" },
    { "the drafter cannot approve their own answer", "起草答复的人不能审批自己的答复" },
    { "the drafter created or reset your account recently: someone else must approve",
      "这份答复的起草人最近创建或重置了您的账号，须由其他人审核" },
    { "only the author rates the answer", "只有提出人可以评价答复" },
    { "cannot rate a suggestion that is %s", "这条意见%1，还不能评价" },
    { "the suggestion is held until its release window ends", "这条匿名意见待送达，送达之后才能继续操作" },
    { "this answer is rated already (status is %s)", "这次答复已经评价过了" },
    { "only the author reopens", "只有提出人可以请求重新办理" },
    { "cannot reopen a suggestion that is %s", "这条意见%1，不能请求重新办理（答复公开后就不能再请求了）" },
    { "a suggestion is reopened only once (status is answered)", "每条意见只能请求重新办理一次" },
    { "rate the answer \"unsatisfied\" first (status is answered)", "请先把答复评为“不满意”，再请求重新办理" },
    { "internal messages are for the committee", "内部留言只有支委可以写" },
    { "cannot co-sign a suggestion that is %s", "这条意见%1，不能再附议" },
    { "cannot co-sign a suggestion that is merged", "这条意见已合并，不能再附议" },
    { "the token was spent already", "这张匿名凭证已经用过" },
    { "authors do not co-sign their own suggestion", "不能附议自己提的意见" },
    { "only members of the unit co-sign", "只有本单位的党员可以附议" },
    { "you co-signed this already", "您已经附议过这条意见" },
    { "only the assignee or a secretary accepts", "只有承办人或书记可以受理" },
    { "cannot accept a suggestion that is %s", "这条意见%1，不能再受理" },
    { "only the author withdraws", "只有提出人可以撤回" },
    { "cannot withdraw a suggestion that is %s", "这条意见%1，不能再撤回（受理之后就不能撤回了）" },
    { "the withdrawal is held already until its release", "撤回已经在等待送达，不必再撤回" },
    { "must be a suggestion id like S-7K3Q9D", "须为意见编号，例如 S-7K3Q9D" },
    { "must be submitter or internal", "须为 submitter（提出人可见）或 internal（仅内部）" },
    { "must be adopted, partly_adopted, not_adopted or noted", "须为采纳、部分采纳、不采纳或已知悉之一" },
    { "is required when the decision is not_adopted", "不采纳时必须填写理由" },
    { "must be satisfied, basically_satisfied or unsatisfied", "须为满意、基本满意或不满意之一" },
    /* routes/tokens.c */
    { "unit: expected the id of the unit whose keys to list", "查询参数 unit 须为要列出其凭证密钥的单位编号" },
    { "the clock is out of range", "服务器时钟超出范围" },
    { "must be 32 bytes as base64url without padding (43 characters)", "须为 32 字节的 base64url（43 个字符，不带补位）" },
    { "is not the canonical encoding of a ristretto255 element other than the identity", "不是有效的 ristretto255 群元素编码" },
    { "%lld of the %lld tokens of epoch %s remain, %zu were asked for; the next epoch begins %s", "%1 张可领：本期（%3）共 %2 张，这次要 %4 张；下一期从 %5 开始" },
    { "is not the current key: tokens are issued under %s (GET /v1/tokens/keys)", "不是当前的凭证密钥：现在用 %1 发放" },
    { "must be an array of 1 to %d blinded elements", "须为 1 到 %1 个盲化元素的列表" },
    /* routes/roster.c, http/server.c */
    { "expected text/csv", "请上传 CSV 文件（text/csv）" },
    /* The roster's line errors are Chinese already (domain/roster.c). */
    { "第 %u 行：%s", "第 %1 行：%2" },
    { "……另有 %zu 处错误", "……另有 %1 处错误" },
    { "a unit or an account of the file was created by someone else meanwhile; nothing was imported", "文件中的单位或账号刚被别人建立，本次没有导入任何内容，请重新导入" },
    /* routes/units.c, members.c, web.c */
    { "must not contain /", "不能含有 /" },
    { "must not contain ;", "不能含有分号（;）" },
    { "must be committee, general_branch, branch or group", "须为 committee（党委）、general_branch（党总支）、branch（党支部）或 group（党小组）" },
    { "the parent already has a unit of that name", "上级单位下已经有同名的单位" },
    { "give name, parent_id, requires_approval or several", "请至少填写名称、上级单位或是否需要审批中的一项" },
    { "the tree would have %lld levels there; UNIT_MAX_DEPTH allows %u", "放在这里组织树会有 %1 层，最多只能有 %2 层" },
    { "%lld units were created by this account in the last 24 hours; UNITS_PER_DAY allows %u", "这个账号在 24 小时内已建立 %1 个单位，最多只能建立 %2 个，请稍后再试" },
    { "a unit cannot move under itself or its descendants", "单位不能移到它自己或它的下级单位下面" },
    { "cursor must be an account id and limit 1-500", "翻页位置须为账号编号，每页条数须为 1 到 500" },
    { "must be member, committee or secretary", "须为 member（党员）、committee（支委）或 secretary（书记）" },
    { "only a committee member holds portfolios", "只有支委可以分管工作" },
    { "no such account", "没有这个账号" },
    { "the account holds no role in this unit", "这个账号在本单位没有任何角色" },
    { "names a portfolio this unit does not have", "这个单位没有这项分管工作（或已停用）" },
    { "the unit already has a portfolio of that name", "这个单位已经有同名的分管工作" },
    { "must be monthly, weekly or off", "须为 monthly（每月）、weekly（每周）或 off（不自动发布）" },
    { "only with frequency monthly", "只在每月发布时填写" },
    { "only with frequency weekly", "只在每周发布时填写" },
    { "not with frequency off", "不自动发布时不用填写" },
    { "no such file", "没有这个文件" },
    /* webhook/url.c */
    { "must be 1 to 2048 bytes", "长度须为 1 到 2048 字节" },
    { "must be printable ASCII without spaces (percent-encode the rest)", "只能含可打印的 ASCII 字符且不能有空格（其余请用百分号编码）" },
    { "the scheme must be http or https", "网址须以 http 或 https 开头" },
    { "must name a host", "网址须含主机名" },
    { "out of memory", "服务内存不足，请稍后重试" },
    { "is not a well-formed URL", "不是有效的网址" },
    { "must not carry a user name or password", "网址里不能带用户名或密码" },
    { "has no usable port", "网址的端口不可用" },
    { "the port must be 1 to 65535", "端口须为 1 到 65535" },
    { "the host name is too long", "主机名太长" },
    { "must not name an IPv6 zone", "不能指定 IPv6 区域" },
    { "an unspecified address (0.0.0.0/8)", "未指定地址（0.0.0.0/8）" },
    { "a multicast address (224.0.0.0/4)", "组播地址（224.0.0.0/4）" },
    { "the broadcast address", "广播地址" },
    { "a reserved address (240.0.0.0/4)", "保留地址（240.0.0.0/4）" },
    { "a loopback address (127.0.0.0/8; see WEBHOOK_ALLOW_LOOPBACK)", "本机回环地址（127.0.0.0/8；见 WEBHOOK_ALLOW_LOOPBACK）" },
    { "the link-local metadata address 169.254.169.254", "链路本地的元数据地址 169.254.169.254" },
    { "a link-local address (169.254.0.0/16)", "链路本地地址（169.254.0.0/16）" },
    { "an unspecified address (::)", "未指定地址（::）" },
    { "a loopback address (::1; see WEBHOOK_ALLOW_LOOPBACK)", "本机回环地址（::1；见 WEBHOOK_ALLOW_LOOPBACK）" },
    { "a link-local address (fe80::/10)", "链路本地地址（fe80::/10）" },
    { "a multicast address (ff00::/8)", "组播地址（ff00::/8）" },
    { "not an IP address", "不是 IP 地址" },
    { "a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7): an account's webhook must be reachable on the internet", "内网地址（10/8、172.16/12、192.168/16、100.64/10、fc00::/7）：账号的网络钩子须在互联网上可以访问" },
    { "an address of this machine (see WEBHOOK_ALLOW_LOOPBACK)", "本机自己的地址（见 WEBHOOK_ALLOW_LOOPBACK）" },
    { "this service's own address and port", "本服务自己的地址和端口" },
    { "the host could not be resolved: %s", "无法解析主机名" },
    { "the host resolves to %s", "主机名解析到%1，不允许" },
    { "the host has no usable address", "主机名没有可用的地址" },
};

/* Machine words a template may capture (statuses, actions), in Chinese. */
static const struct text words[] = {
    { "submitted", "已提交" },   { "accepted", "已受理" }, { "answered", "已答复" },
    { "published", "已公开" },   { "withdrawn", "已撤回" }, { "merged", "已合并" },
    { "accept", "受理" },        { "withdraw", "撤回" },    { "merge", "合并" },
    { "reopen", "重新办理" },    { "assign", "改派" },      { "answer", "答复" },
    { "publish", "公开" },       { "approve", "审批" },     { "rate", "评价" },
    { "pending", "等待投递" },   { "delivered", "已投递" }, { "dead", "投递失败" },
    /* the two values of suggestions_list's "%s: expected %s" */
    { "1 to 100", " 1 到 100 之间的数" }, { "a positive id", "正整数编号" },
};

/* ---- Accept-Language ------------------------------------------------------ */

bool problem_text_wants_chinese(const char *h)
{
    if (!h)
        return false;
    double zh = -1, other = -1;
    while (*h) {
        while (*h == ' ' || *h == '\t' || *h == ',')
            h++;
        const char *tag = h;
        while (*h && *h != ';' && *h != ',' && *h != ' ')
            h++;
        size_t n = (size_t)(h - tag);
        double q = 1;
        while (*h && *h != ',') {
            if (*h == ';') {
                h++;
                while (*h == ' ')
                    h++;
                if ((h[0] == 'q' || h[0] == 'Q') && h[1] == '=') {
                    char *end;
                    q = strtod(h + 2, &end);
                    if (end == h + 2 || q < 0 || q > 1)
                        q = 0;
                    h = end;
                    continue;
                }
            }
            h++;
        }
        if (n == 0 || q <= 0)
            continue;
        bool is_zh = n >= 2 && strncasecmp(tag, "zh", 2) == 0 && (n == 2 || tag[2] == '-');
        bool is_en = (n >= 2 && strncasecmp(tag, "en", 2) == 0 && (n == 2 || tag[2] == '-')) ||
                     (n == 1 && tag[0] == '*');
        /* The first range of the highest q wins: later ones must beat it. */
        if (is_zh && q > zh && q > other)
            zh = q;
        else if (is_en && q > other && q > zh)
            other = q;
    }
    return zh > other;
}

const char *problem_text_title_zh(enum problem kind)
{
    return (unsigned)kind < PROBLEM__COUNT ? titles_zh[kind] : NULL;
}

/* ---- templates -------------------------------------------------------------- */

#define MAX_CAPS 9

struct caps {
    const char *at[MAX_CAPS];
    size_t len[MAX_CAPS];
    int n;
};

/* Length of the conversion spec at t (t[0] == '%'), 0 when it is not one. */
static size_t spec_len(const char *t, char *conv)
{
    size_t i = 1;
    while (t[i] && strchr("-+ #0123456789.*", t[i]))
        i++;
    while (t[i] && strchr("hlLqjzt", t[i]))
        i++;
    if (!t[i] || !strchr("diouxXs", t[i]))
        return 0;
    *conv = t[i];
    return i + 1;
}

/* Does s match template t? Each conversion takes one or more characters
 * (digits and '-' for a number), shortest first. */
static bool match(const char *t, const char *s, struct caps *c)
{
    while (*t) {
        if (t[0] == '%' && t[1] == '%') {
            if (*s != '%')
                return false;
            t += 2;
            s++;
            continue;
        }
        char conv = 0;
        size_t sl = t[0] == '%' ? spec_len(t, &conv) : 0;
        if (!sl) {
            if (*t != *s)
                return false;
            t++;
            s++;
            continue;
        }
        if (c->n >= MAX_CAPS)
            return false;
        int k = c->n++;
        for (size_t n = 1; s[n - 1]; n++) {
            if (conv != 's' && !(isdigit((unsigned char)s[n - 1]) || (n == 1 && s[0] == '-')))
                break;
            c->at[k] = s;
            c->len[k] = n;
            if (match(t + sl, s + n, c))
                return true;
            c->n = k + 1;
        }
        c->n = k;
        return false;
    }
    return *s == '\0';
}

/* A captured value in Chinese: a known word, or a detail of the catalogue
 * quoted whole (the host's refusal inside "the host resolves to %s"). */
static const char *word_zh(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].en) == n && strncmp(words[i].en, s, n) == 0)
            return words[i].zh;
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++)
        if (!strchr(details[i].en, '%') && strlen(details[i].en) == n &&
            strncmp(details[i].en, s, n) == 0)
            return details[i].zh;
    return NULL;
}

static void render(const char *zh, const struct caps *c, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = zh; *p && o + 1 < size; p++) {
        if (p[0] == '%' && p[1] >= '1' && p[1] <= '9' && p[1] - '1' < c->n) {
            int k = p[1] - '1';
            const char *w = word_zh(c->at[k], c->len[k]);
            size_t n = w ? strlen(w) : c->len[k];
            if (n > size - 1 - o)
                n = size - 1 - o;
            memcpy(out + o, w ? w : c->at[k], n);
            o += n;
            p++;
            continue;
        }
        out[o++] = *p;
    }
    /* Never leave half a UTF-8 sequence when the buffer ran out. */
    while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80 && o + 1 >= size)
        o--;
    if (o > 0 && o + 1 >= size && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
        o--;
    out[o] = '\0';
}

/* Whether s holds a CJK ideograph (U+4E00..U+9FFF: a three-byte UTF-8
 * sequence led by 0xE4..0xE9): a detail written in Chinese already (the
 * roster's line errors). */
static bool written_in_chinese(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p >= 0xE4 && *p <= 0xE9 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
            return true;
    return false;
}

bool problem_text_detail_zh(const char *en, char *out, size_t size)
{
    if (!en || !size)
        return false;
    if (written_in_chinese(en)) {
        snprintf(out, size, "%s", en);
        return true;
    }
    /* A sentence of its own beats a template that also fits it. */
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++)
        if (!strcmp(details[i].en, en)) {
            struct caps none = { .n = 0 };
            render(details[i].zh, &none, out, size);
            return true;
        }
    /* Of the templates that fit, the most specific (the longest key):
     * "cannot approve an answer of a suggestion that is %s" before
     * "cannot %s a suggestion that is %s". */
    size_t best = SIZE_MAX, best_len = 0;
    struct caps best_caps = { .n = 0 };
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++) {
        struct caps c = { .n = 0 };
        size_t len = strlen(details[i].en);
        if (len > best_len && match(details[i].en, en, &c)) {
            best = i;
            best_len = len;
            best_caps = c;
        }
    }
    if (best == SIZE_MAX)
        return false;
    render(details[best].zh, &best_caps, out, size);
    return true;
}

bool problem_text_has_key(const char *en)
{
    for (size_t i = 0; i < sizeof details / sizeof details[0]; i++)
        if (strcmp(details[i].en, en) == 0)
            return true;
    return false;
}
