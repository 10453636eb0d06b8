-- Realistic data for `make bench`, written straight into the real schema
-- (its constraints and triggers all run): bench/run.sh runs it as the
-- superuser after bench/world.mjs built the organisation through the API.
--
--   psql -v n=100000 -v root=ID -v cat=ID -v admin=ID -f bench/load.sql
--
-- Adds :n suggestions to the branches under :root, spread evenly, each
-- with its assignment (the branch's secretary), its audit rows, and as it
-- moved along the workflow: about 70% accepted with a message thread,
-- 60% answered (an answer approved by :admin), 50% published; 10% are
-- anonymous (no author, a tracking code, times kept to the hour). The
-- first run also adds accounts up to 2,000 in all, members of the branches.
-- Text: Chinese titles and bodies from a small vocabulary, 40-200 characters.
-- Runs again to add more (the scale case goes from 10,000 to 1,000,000).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off; -- the load only; the service and pgbench run with it on
SET maintenance_work_mem = '256MB';
SET work_mem = '64MB';

BEGIN;
CREATE TEMP TABLE b_units AS
SELECT row_number() OVER (ORDER BY u.id) - 1 AS idx, u.id AS unit_id,
       (SELECT m.account_id FROM memberships m WHERE m.unit_id = u.id AND m.role = 'secretary'
        ORDER BY m.account_id LIMIT 1) AS secretary_id
FROM org_units u WHERE u.parent_id = :root AND u.level = 'branch';
SELECT count(*) AS b_units FROM b_units \gset

-- Members up to 2,000 accounts, each in one branch.
INSERT INTO accounts (login, display_name, created_at)
SELECT 'bench-m-' || g, '党员' || g, now() - interval '2 years'
FROM generate_series(1, greatest(0, 2000 - (SELECT count(*) FROM accounts))) g;
INSERT INTO memberships (account_id, unit_id, role)
SELECT a.id, bu.unit_id, 'member' FROM accounts a
JOIN b_units bu ON bu.idx = a.id % :b_units
WHERE a.login LIKE 'bench-m-%' ON CONFLICT DO NOTHING;
CREATE TEMP TABLE b_members AS
SELECT bu.idx, row_number() OVER (PARTITION BY bu.idx ORDER BY m.account_id) - 1 AS rn,
       m.account_id
FROM b_units bu JOIN memberships m ON m.unit_id = bu.unit_id AND m.role = 'member';
CREATE TEMP TABLE b_member_count AS SELECT idx, count(*) AS n FROM b_members GROUP BY idx;
CREATE UNIQUE INDEX ON b_members (idx, rn);

-- A bijection of a row number onto 30 bits, in Crockford base32: public ids.
CREATE FUNCTION pg_temp.b_pid(x bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT 'S-' || string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                 (((x * 387420489) % 1073741824) >> (5 * k) & 31)::int + 1, 1), '' ORDER BY k DESC)
  FROM generate_series(0, 5) k $f$;

-- The vocabulary.
CREATE TEMP TABLE b_words (w text[]);
INSERT INTO b_words VALUES (ARRAY[
 '食堂','饭菜','价格','停车','车位','电梯','维修','空调','会议','学习','培训','党课',
 '活动','经费','报销','流程','手续','办公','设备','网络','宿舍','卫生','绿化','安全',
 '值班','加班','考勤','制度','公开','透明','意见','建议','群众','服务','窗口','效率',
 '审批','材料','档案','资料','文件','通知','宣传','橱窗','图书','阅览','健身','场地',
 '老干部','退休','慰问','帮扶','困难','职工','青年','志愿','社区','联系','走访','调研',
 '照明','路灯','供暖','供水','热水','垃圾','分类','消防','通道','监控','门禁','快递']);
CREATE TEMP TABLE b_phrases (p text[]);
INSERT INTO b_phrases VALUES (ARRAY[
 '建议尽快解决','希望有关部门重视','群众反映强烈','影响日常工作','已经持续很长时间',
 '请支部研究处理','能否增加','是否可以调整','经常出现问题','给大家带来不便',
 '建议公开处理结果','希望简化流程','建议加强管理','请予以答复','多次反映未解决',
 '大家意见比较集中','建议定期检查','希望改善条件','建议听取职工意见','请考虑实际情况']);
COMMIT;

-- ---- suggestions --------------------------------------------------------
-- The secondary indexes of suggestions are dropped for the load and built
-- again at the end, as they were (much faster than maintaining them row by
-- row through the workflow's updates).
BEGIN;
CREATE TEMP TABLE b_indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
FROM pg_index i WHERE i.indrelid = 'suggestions'::regclass AND NOT i.indisunique;
SELECT format('DROP INDEX %s', name) FROM b_indexes \gexec
COMMIT;
\echo loading :n suggestions
BEGIN;
SELECT coalesce(max(id), 0) AS b_first FROM suggestions \gset
CREATE TEMP TABLE b_new AS
SELECT g, bu.idx, bu.unit_id, bu.secretary_id,
       (g % 10 = 0) AS anon,
       -- oldest first: the newest rows are the last ones loaded
       now() - make_interval(secs => (730 * 86400.0) * (:n - g) / :n + 3600) AS t
FROM generate_series(1, :n) g JOIN b_units bu ON bu.idx = g % :b_units;

INSERT INTO suggestions (public_id, unit_id, category_id, title, body, author_id, anonymous,
                         assignee_id, created_at, ack_due, answer_due, grace_days)
SELECT pg_temp.b_pid(:b_first + n.g), n.unit_id, :cat, ttl.title, bdy.body,
       CASE WHEN n.anon THEN NULL ELSE bm.account_id END, n.anon, n.secretary_id,
       CASE WHEN n.anon THEN date_trunc('hour', n.t) ELSE n.t END,
       n.t + interval '3 days', n.t + interval '15 days', 7
FROM b_new n
JOIN b_member_count mc ON mc.idx = n.idx
JOIN b_members bm ON bm.idx = n.idx AND bm.rn = (n.g / :b_units) % mc.n
CROSS JOIN b_words w CROSS JOIN b_phrases ph
CROSS JOIN LATERAL (SELECT
    '关于' || w.w[1 + (n.g * 7) % 72] || w.w[1 + (n.g * 13) % 72] || '的' ||
    (ARRAY['建议','意见','问题','反映'])[1 + n.g % 4] AS title) ttl
CROSS JOIN LATERAL (SELECT string_agg(
    w.w[1 + ((n.g * 31 + i * 17)::bigint * 2654435761 % 4294967296 % 72)::int] ||
    w.w[1 + ((n.g * 37 + i * 11)::bigint * 40503 % 65536 % 72)::int] ||
    ph.p[1 + ((n.g + i * 7) % 20)] || '，', '') || '谢谢。' AS body
    FROM generate_series(1, 2 + n.g % 7) i) bdy
ORDER BY n.g;
COMMIT;

BEGIN;
CREATE TEMP TABLE b_rows AS
SELECT s.id, s.public_id, s.unit_id, s.assignee_id, s.author_id, s.anonymous, s.created_at,
       (hashint8(s.id)::bigint % 10 + 10) % 10 AS d -- independent of the unit
FROM suggestions s WHERE s.id > :b_first;
CREATE INDEX ON b_rows (id);
ANALYZE b_rows;

INSERT INTO assignments (suggestion_id, assignee_id, unit_id, reason, created_at)
SELECT id, assignee_id, unit_id, 'secretary: no committee member holds portfolio "纪检"',
       created_at FROM b_rows;
INSERT INTO tracking_codes (code_hash, suggestion_id)
SELECT decode(md5('code' || id) || md5('more' || id), 'hex'), id FROM b_rows WHERE anonymous;
INSERT INTO audit_log (actor_kind, actor_id, action, object_type, object_id, change, request_id, at)
SELECT CASE WHEN anonymous THEN 'anonymous' ELSE 'account' END, author_id, 'suggestion.submit',
       'suggestion', public_id,
       jsonb_build_object('after', jsonb_build_object('status', 'submitted', 'unit_id', unit_id,
                          'category_id', :cat, 'assignee_id', assignee_id)),
       CASE WHEN anonymous THEN NULL ELSE 'bench-load' END,
       CASE WHEN anonymous THEN date_trunc('hour', created_at) ELSE created_at END
FROM b_rows ORDER BY id;
COMMIT;

\echo accepting, threads, answers, publishing
BEGIN;
UPDATE suggestions s SET status = 'accepted', accepted_at = least(r.created_at + interval '1 days', now())
FROM b_rows r WHERE s.id = r.id AND r.d < 7;
INSERT INTO messages (suggestion_id, author_kind, author_id, visibility, body, created_at)
SELECT r.id, 'committee', r.assignee_id, 'submitter', '已收到您的意见，正在了解情况，请耐心等待。',
       least(r.created_at + interval '1 days', now()) FROM b_rows r WHERE r.d < 7
UNION ALL
SELECT r.id, 'submitter', r.author_id, 'submitter', '谢谢，补充一点：这个问题周末更严重。',
       CASE WHEN r.anonymous THEN date_trunc('hour', least(r.created_at + interval '2 days', now()))
            ELSE least(r.created_at + interval '2 days', now()) END FROM b_rows r WHERE r.d < 4
UNION ALL
SELECT r.id, 'committee', r.assignee_id, 'internal', '已转后勤部门核实。',
       least(r.created_at + interval '2 days', now()) FROM b_rows r WHERE r.d < 2;
INSERT INTO answers (suggestion_id, decision, reason, body, drafted_by, drafted_at, approved_by, approved_at)
SELECT r.id, (ARRAY['adopted','partly_adopted','not_adopted','noted'])[1 + r.id % 4],
       CASE WHEN r.id % 4 = 2 THEN '受经费所限，本年度暂不具备条件。' END,
       '经支部委员会研究，已协调有关部门落实，感谢您的意见。', r.assignee_id,
       least(r.created_at + interval '5 days', now()), :admin, least(r.created_at + interval '6 days', now())
FROM b_rows r WHERE r.d < 6;
UPDATE suggestions s SET status = 'answered', answered_at = least(r.created_at + interval '6 days', now())
FROM b_rows r WHERE s.id = r.id AND r.d < 6;
-- Published, but for the last two months' answers of every tenth: what
-- the 24 bulletins of bench/run.sh publish.
UPDATE suggestions s SET status = 'published', published_at = least(r.created_at + interval '30 days', now())
FROM b_rows r WHERE s.id = r.id AND (r.d < 5 OR (r.d = 5 AND r.created_at < now() - interval '60 days'));
INSERT INTO audit_log (actor_kind, actor_id, action, object_type, object_id, change, request_id, at)
SELECT 'account', r.assignee_id, x.action, 'suggestion', r.public_id,
       jsonb_build_object('before', jsonb_build_object('status', x.before),
                          'after', jsonb_build_object('status', x.after)),
       'bench-load', least(r.created_at + x.after_days, now())
FROM b_rows r CROSS JOIN (VALUES
    ('suggestion.accept', 'submitted', 'accepted', interval '1 day', 7),
    ('suggestion.answer', 'accepted', 'answered', interval '6 days', 6),
    ('suggestion.publish', 'answered', 'published', interval '30 days', 5))
    AS x(action, before, after, after_days, below)
WHERE r.d < x.below OR (x.below = 5 AND r.d = 5 AND r.created_at < now() - interval '60 days')
ORDER BY r.id, x.after_days;
-- What the escalation job would have done to them long ago (the first
-- pass of a service started on this data would otherwise do it during a
-- measurement): open past the grace of their answer date -> the unit above.
CREATE TEMP TABLE b_esc AS
WITH e AS (
  UPDATE suggestions s SET escalated_to = u.parent_id,
         escalated_at = s.answer_due + make_interval(days => s.grace_days),
         escalation_reason = 'answer overdue by more than ' || s.grace_days || ' days'
  FROM org_units u, b_rows r
  WHERE s.id = r.id AND u.id = s.unit_id AND u.parent_id IS NOT NULL AND s.escalated_to IS NULL
    AND s.status IN ('submitted', 'accepted') AND now() > s.answer_due + make_interval(days => s.grace_days)
  RETURNING s.id, s.public_id, s.escalated_to, s.escalation_reason, s.escalated_at)
SELECT * FROM e;
INSERT INTO audit_log (actor_kind, actor_id, action, object_type, object_id, change, request_id, at)
SELECT 'system', NULL, 'suggestion.escalate', 'suggestion', public_id,
       jsonb_build_object('after', jsonb_build_object('escalated_to', escalated_to,
                          'escalation_reason', escalation_reason)), NULL, escalated_at
FROM b_esc ORDER BY id;
DROP TABLE b_rows, b_new, b_esc;
COMMIT;
\echo compacting and indexing
VACUUM FULL suggestions;
SELECT def FROM b_indexes \gexec
VACUUM ANALYZE;
SELECT count(*) AS suggestions, count(*) FILTER (WHERE status IN ('submitted', 'accepted')) AS open
FROM suggestions;
