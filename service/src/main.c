/* yijian: one binary, subcommands for the service and the operator. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client/member.h"
#include "config.h"
#include "db/db.h"
#include "db/migrate.h"
#include <curl/curl.h>

#include "domain/audit.h"
#include "domain/jobs.h"
#include "domain/notify.h"
#include "domain/notify_worker.h"
#include "domain/token_keys.h"
#include "domain/workflow.h"
#include "http/server.h"
#include "routes/routes.h"
#include "util/log.h"
#include "webhook/url.h"

/* The commands, and with config the configuration variables (whose
 * help stays in English, as the README's table). */
static void usage(FILE *out, bool config)
{
    fprintf(out,
            "用法：yijian 命令\n\n"
            "命令：\n"
            "  serve                          升级数据库（MIGRATE_ON_START=false 时不升级）并提供 HTTP 服务\n"
            "  migrate                        升级数据库后退出\n"
            "  create-admin 登录名 [姓名]     创建管理员账号，打印其激活码\n"
            "  import-roster 名册.csv         按 CSV 名册添加单位、账号和成员关系，打印激活码\n"
            "  member 命令 ...                党员客户端（登录、匿名凭证、匿名意见）：member --help\n"
            "  verify-audit [--key BASE64]    重新核对审计链；完好退出码 0，被改动 1\n"
            "                                 （--key：只用公钥，不用主密钥）\n"
            "  publish 单位编号               把该单位已答复的意见公开为一期签名通报\n"
            "  verify-bulletin 文件 [--key K] 核对保存下来的通报签名；有效退出码 0，无效 1\n"
            "  routes [--json]                列出每个接口及谁可以调用（docs/security.md）\n"
            "  problem-text                   把英文的问题说明（每行一个 JSON）换成中文（供测试核对）\n"
            "  help                           显示本说明和全部配置项\n");
    if (!config)
        return;
    fprintf(out, "\n配置（环境变量，说明为英文原文）：\n");
    for (size_t i = 0; i < config_vars_count; i++) {
        const struct config_var *v = &config_vars[i];
        char bounds[48];
        config_var_bounds(v, bounds, sizeof bounds);
        bool def = v->default_value && *v->default_value;
        fprintf(out, "  %-22s %s%s%s%s%s%s\n", v->name, v->help, *bounds ? " (" : "", bounds,
                *bounds ? ")" : "", def ? "; default " : "", def ? v->default_value : "");
    }
}

/* Once bound: webhooks to the real port are refused, and without
 * PUBLIC_URL the links in notifications go where serve listens. */
static const char *listening_host = "127.0.0.1";
static void on_listening(unsigned port)
{
    webhook_set_self_port(port);
    notify_listening(listening_host, port);
}

static int serve(const struct config *cfg)
{
    if (!cfg->master_key_set) {
        fprintf(stderr, "yijian serve：需要主密钥：请设置 MASTER_KEY（64 个十六进制字符）或 "
                        "MASTER_KEY_FILE（权限 0600 的文件；make run 会创建 var/master.key）\n");
        return 2;
    }
    if (cfg->migrate_on_start && migrate_run(cfg->database_owner_url, cfg->db_connect_timeout, audit_migration) < 0)
        return 1;
    if (meta_init(cfg->openapi_path) < 0)
        return 1;
    /* The migrations above may take long; what opens connections from
     * here on (the pool, the jobs thread, the notifier) has deadlines. */
    db_set_call_timeout(cfg->db_timeout_ms);
    if (db_pool_init(cfg->database_url, cfg->db_pool_size, cfg->db_connect_timeout,
                     cfg->db_acquire_timeout_ms) < 0) {
        log_msg(LOG_ERROR, "out of memory");
        return 1;
    }
    if (token_keys_startup_check(cfg) < 0) {
        db_pool_cleanup();
        meta_cleanup();
        return 1;
    }
    /* SIGTERM and SIGINT are taken by sigwait in server_run; every thread
     * must have them blocked, or the kernel may hand one to a thread that
     * dies of it. Threads inherit the mask, so block before the first. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    if (jobs_start(cfg) < 0) {
        log_msg(LOG_ERROR, "could not start the jobs thread");
        db_pool_cleanup();
        return 1;
    }
    /* Webhooks to the service's own port are refused; with LISTEN's port
     * 0 the real one is set once bound (server_run). */
    webhook_set_self_port(cfg->listen_port);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || notify_worker_start(cfg) < 0) {
        log_msg(LOG_ERROR, "could not start the notification worker");
        jobs_stop();
        db_pool_cleanup();
        return 1;
    }
    if (log_start() < 0)
        log_msg(LOG_WARN, "could not start the log thread: request lines are written one by one");
    listening_host = cfg->listen_host;
    const struct server_app app = { routes, routes_count, on_listening, route_fast_paths,
                                    route_fast_paths_count };
    int rc = server_run(cfg, &app);
    notify_worker_stop();
    jobs_stop();
    log_stop();
    curl_global_cleanup();
    db_pool_cleanup();
    meta_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr, false);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout, true);
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) {
        fprintf(stderr, "yijian：libsodium 初始化失败\n");
        return 1;
    }
    if (!strcmp(cmd, "member")) /* a client: no database, no master key, no server config */
        return member_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "verify-bulletin")) /* needs no database either */
        return cli_verify_bulletin(argc - 1, argv + 1);
    if (!strcmp(cmd, "routes"))
        return cli_routes(argc - 1, argv + 1);
    if (!strcmp(cmd, "problem-text"))
        return cli_problem_text(argc - 1, argv + 1);
    struct config cfg;
    char err[512];
    if (config_load(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "yijian：配置有误：%s\n", err);
        return 2;
    }
    log_set_level((enum log_level)cfg.log_level);
    notify_configure(&cfg);
    workflow_configure(&cfg);
    if (!cfg.database_url[0]) {
        fprintf(stderr, "yijian：没有设置 DATABASE_URL（make run 会为 var/ 下的私有数据库设置它）\n");
        return 2;
    }

    if (!strcmp(cmd, "serve") && argc == 2)
        return serve(&cfg);
    if (!strcmp(cmd, "migrate") && argc == 2)
        return migrate_run(cfg.database_owner_url, cfg.db_connect_timeout, audit_migration) < 0 ? 1 : 0;
    if (!strcmp(cmd, "create-admin") && (argc == 3 || argc == 4))
        return cli_create_admin(&cfg, argv[2], argc == 4 ? argv[3] : argv[2]);
    if (!strcmp(cmd, "import-roster") && argc == 3)
        return cli_import_roster(&cfg, argv[2]);
    if (!strcmp(cmd, "verify-audit") && argc == 2)
        return cli_verify_audit(&cfg, NULL);
    if (!strcmp(cmd, "verify-audit") && argc == 4 && !strcmp(argv[2], "--key"))
        return cli_verify_audit(&cfg, argv[3]);
    if (!strcmp(cmd, "publish") && argc == 3)
        return cli_publish(&cfg, argv[2]);
    fprintf(stderr, "yijian：没有这个命令，或者参数不对：%s（yijian help 列出全部命令和配置）\n\n", cmd);
    usage(stderr, false);
    return 2;
}
