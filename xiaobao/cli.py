"""`xiaobao` — the command line of the platform (see CONTRACTS.md)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError, StatementError

from backoffice.demo import staff as demo_staff
from backoffice.domain import staff as staff_roles
from backoffice.domain.errors import DomainError
from backoffice.scheduler.leader import leadership_for
from backoffice.services import demo, demo_day, group, products, retention_job, scheme
from backoffice.services import staff as staff_service
from backoffice.store import fieldrewrap, fieldseal, resealing
from backoffice.store.db import Database
from backoffice.store.migrate import current_revision, schema_state, upgrade
from backoffice.store.stores import open_store
from xiaobao import bot, logs, roles
from xiaobao.config import DEMO_FIELDS_KEY, DEMO_FILES_KEY, Settings
from xiaobao.health import announce_when_ready
from xiaobao.platform import HEALTH, create_app
from xiaobao.roles import schema_refusal

log = logging.getLogger("xiaobao")
#: `serve` / `scheduler`: the database's schema is not the one this version runs on.
SCHEMA_REFUSED = 3
#: `serve`, `files …`: no master key for the uploaded documents (XIAOBAO_FILES_KEYS).
NO_FILES_KEY = 4
#: `files encrypt|rewrap`: some files could not be handled (named in the last line of JSON).
FILES_REFUSED = 1
#: any command on the database: no keys for the ID, phone and bank card numbers
#: (XIAOBAO_FIELDS_KEYS, XIAOBAO_FIELDS_HASH_KEY), or keys that do not open what is stored.
NO_FIELDS_KEY = 5
FIELDS_KEYS_HELP = ("个人信息字段（身份证号、手机号、银行卡号）的密钥：XIAOBAO_FIELDS_KEYS"
                    "（kid:base64(32 字节)，逗号分隔，第一个用于新值）与 XIAOBAO_FIELDS_HASH_KEY"
                    "（base64(32 字节)，查找散列）；生成：echo \"k1:$(head -c 32 /dev/urandom | "
                    "base64)\"、head -c 32 /dev/urandom | base64。仅限开发与演示："
                    "XIAOBAO_FILES_DEMO_KEY=1 使用 var/ 中的演示密钥")


def _db(settings: Settings) -> Database:
    return Database(settings.database_url)


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False), flush=True)


def _where(url: str) -> str:
    """A database URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "（无法解析的 XIAOBAO_DATABASE_URL）"


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """The one-off step before a version's processes start: says what it found and did."""
    db = _db(settings)
    before = current_revision(db)
    upgrade(db)
    after = current_revision(db)
    changed = products.install_products(db)
    where = _where(settings.database_url)
    if before == after:
        print(f"数据库结构已是最新版本 {after}，未执行迁移（{where}）")
    else:
        print(f"数据库结构已迁移：{before or '空库'} → {after}（{where}）")
    print(f"产品目录更新：{', '.join(changed) or '无变化'}")
    _print_json({"from": before, "to": after, "migrated": before != after,
                 "products_changed": changed})
    return 0


def _schema_refused(db: Database, settings: Settings) -> int | None:
    """The exit code when this process must not start on the database's schema (the reason
    on standard error, no traceback); None when it may."""
    try:
        refusal = schema_refusal(schema_state(db))
    except SQLAlchemyError as exc:
        print(f"错误：数据库无法连接或读取（{type(exc).__name__}；"
              f"{_where(settings.database_url)}）", file=sys.stderr)
        return 1
    if refusal is None:
        return None
    print(f"错误：{refusal}", file=sys.stderr)
    return SCHEMA_REFUSED


def cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(settings)
    upgrade(db)
    started = time.perf_counter()
    result = demo.seed(db, args.members, args.seed)
    elapsed = time.perf_counter() - started
    made = demo_staff.seed_staff(db)
    print(f"坐席台演示账号（仅限演示，密码见 README）：{', '.join(made) or '已存在'}")
    print(f"演示数据已生成：团体保单 {result.group_policy_no}，被保险人 {result.members:,} 人，"
          f"个人保单 {len(result.individual_policies)} 张，用时 {elapsed:.1f} 秒")
    _seed_day(db, result.group_policy_no, args.seed)
    _print_json(result.as_dict())
    return 0


def cmd_import_roster(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise DomainError(f"文件 {path} 不存在", "file")
    db = _db(settings)
    upgrade(db)
    started = time.perf_counter()
    if args.removals:
        with path.open(encoding="utf-8", newline="") as f:
            removed = group.import_removals(db, args.policy, f, args.actor)
        print(f"退出 {removed.removed:,} 人，更正 {removed.corrected:,} 人，"
              f"已登记跳过 {removed.skipped:,} 人，错误 {len(removed.errors):,} 行，"
              f"待复核案件 {len(removed.claims_to_review):,} 件，"
              f"用时 {time.perf_counter() - started:.1f} 秒")
        _print_json(removed.as_dict())
        return 0
    with path.open(encoding="utf-8", newline="") as f:
        result = group.import_roster(db, args.policy, f, args.actor)
    print(f"导入 {result.imported:,} 人，已在清单中跳过 {result.skipped:,} 人，"
          f"错误 {len(result.errors):,} 行，用时 {time.perf_counter() - started:.1f} 秒")
    _print_json(result.as_dict())
    return 0


def cmd_scheme_renew(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(settings)
    upgrade(db)
    body: dict[str, str] = {"policy_no": args.policy}
    if args.premium_per_insured is not None:
        body["premium_per_insured"] = args.premium_per_insured
    made = scheme.renew(db, body, args.actor)
    print(f"已续保：{made['renewal_of']} → {made['policy_no']}（{made['start_date']} 至 "
          f"{made['end_date']}），续保 {made['members']:,} 人，未续 {made['not_renewed']:,} 人，"
          f"保费 {made['annual_premium']} 元")
    _print_json(made)
    return 0


def cmd_scheme_loss_ratio(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(settings)
    upgrade(db)
    view = scheme.loss_ratio(db, {"policy_no": args.policy})
    _print_json(view)
    return 0


def cmd_staff_add(args: argparse.Namespace, settings: Settings) -> int:
    """A desk account; the password from standard input (one line) or asked for."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        import getpass

        password = getpass.getpass("密码：")
    db = _db(settings)
    upgrade(db)
    made = staff_service.add(db, args.username, password, args.role, args.name, args.phone,
                             actor="cli")
    print(f"已添加坐席台账号 {made['username']}（{made['role_name']}）")
    _print_json(made)
    return 0


def cmd_staff_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Disable (or with --enable, enable again) a desk account; disabling ends its desk
    sessions and API tokens at once."""
    db = _db(settings)
    upgrade(db)
    staff_service.set_active(db, args.username, bool(args.enable), actor="cli")
    print(f"已{'启用' if args.enable else '停用'}账号 {args.username}")
    _print_json({"username": args.username, "active": bool(args.enable)})
    return 0


def _prepare(settings: Settings, members: int) -> Database:
    db = _db(settings)
    upgrade(db)
    products.install_products(db)
    if demo.is_empty(db):
        print(f"数据库为空，正在生成演示数据（{members:,} 名被保险人）…", flush=True)
        result = demo.seed(db, members)
        print(f"演示团体保单 {result.group_policy_no}；示例身份证号 "
              f"{', '.join(result.sample_id_numbers)}", flush=True)
        demo_staff.seed_staff(db)
        _seed_day(db, result.group_policy_no, 1)
    return db


def _seed_day(db: Database, policy_no: str, seed_value: int) -> None:
    """The scheme's ordinary day on the demo desk: claims, complaints, conversations…"""
    started = time.perf_counter()
    made = demo_day.seed_day(db, policy_no, seed_value)
    if made.claims:
        claims_made = sum(len(v) for v in made.claims.values())
        print(f"演示业务数据：理赔 {claims_made} 件、投诉 {sum(made.complaints.values())} 件、"
              f"复核 {made.appeals} 件、上门服务 {sum(made.home_visits.values())} 件、"
              f"会话 {sum(made.conversations.values())} 个，用时 "
              f"{time.perf_counter() - started:.1f} 秒", flush=True)


def _banner(settings: Settings, base: str) -> str:
    # a token the operator set is theirs and stays out of the output; a generated one is the
    # demo's, printed so that it can be used (CONTRACTS.md)
    token = (f"{settings.api_token[:4]}…（XIAOBAO_API_TOKEN）"
             if os.environ.get("XIAOBAO_API_TOKEN") else
             f"{settings.api_token}  (Authorization: Bearer …；仅限本机演示)")
    return (f"小保平台已启动：\n  API      {base}/api/v1  (OpenAPI: {base}/api/v1/openapi.json)\n"
            f"  健康检查 {base}/healthz\n  指标     {base}/metrics\n  API 令牌 {token}")


def _serve(settings: Settings, db: Database, host: str, port: int,
           scheduler: bool = True, procs: dict[str, subprocess.Popen[bytes]] | None = None,
           role: str = "serve") -> None:
    """The platform; "小保平台已启动" is printed once the bot answers (xiaobao.health)."""
    base = f"http://{host}:{port}"
    print(f"平台进程启动中（{base}）；小保就绪后再打印地址与令牌", flush=True)
    if not settings.instance:  # one process per host and port: a restart takes its place
        settings = dataclasses.replace(settings, instance=f"{socket.gethostname()}:{port}")
    app = create_app(settings, db, scheduler=scheduler, role=role)
    app.on_startup.append(_freeze_heap)  # last: after the app's own start-up
    app.cleanup_ctx.append(_announce(_banner(settings, base), settings.bot_start_timeout,
                                     procs))
    web.run_app(app, host=host, port=port, print=None, access_log_format='%a "%r" %s %b %Tfs',
                loop=_event_loop())


def _announce(banner: str, timeout: float, procs: dict[str, subprocess.Popen[bytes]] | None
              ) -> Callable[[web.Application], AsyncIterator[None]]:
    """Watches the bot come up in the background while the platform serves."""

    def say(text: str) -> None:
        print(text, flush=True)

    async def context(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(announce_when_ready(app[HEALTH], banner, timeout, say,
                                                       procs))
        yield
        task.cancel()

    return context


def _event_loop() -> asyncio.AbstractEventLoop | None:
    """uvloop where it is installed (not on Windows): every request through the gateway then
    costs the platform about a millisecond less (bench/gateway.py); else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop()


async def _freeze_heap(_app: web.Application) -> None:
    """What start-up left alive (modules, mappers, the app) is kept out of later collections:
    a full collection otherwise walks it all and stalls every request for 30–150 ms."""
    gc.collect()
    gc.freeze()


def files_keys_or_refuse(settings: Settings, *, demo: bool = False) -> Settings | None:
    """The settings with the documents' master keys, or None after saying why there are none:
    a real deployment never stores documents in plaintext by omission. The demo (`xiaobao up`,
    or XIAOBAO_FILES_DEMO_KEY=1) uses a key generated into var/files-key, and says so."""
    keyring = settings.files_keyring(demo=demo)
    if keyring is None:
        print("错误：未配置上传材料的加密密钥 XIAOBAO_FILES_KEYS（kid:base64(32 字节)，逗号分隔，"
              "第一个用于新文件；生成一个：echo \"k1:$(head -c 32 /dev/urandom | base64)\"）。"
              "仅限开发与演示：XIAOBAO_FILES_DEMO_KEY=1 使用 var/files-key 中的演示密钥",
              file=sys.stderr)
        return None
    if settings.files_keys is None:
        print(f"上传材料以演示密钥加密（{settings.var_dir / DEMO_FILES_KEY}，仅限本机演示；"
              "正式部署请设置 XIAOBAO_FILES_KEYS）", flush=True)
    return dataclasses.replace(settings, files_keys=keyring)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Gateway, API and desk. Several may run on one database: none migrates (unless asked
    with --migrate, for one machine) and each refuses a schema it was not made for, or to
    run without the documents' master keys."""
    keyed = files_keys_or_refuse(settings)
    if keyed is None:
        return NO_FILES_KEY
    settings = keyed
    if not fieldseal.is_installed():
        print(f"错误：未配置{FIELDS_KEYS_HELP}", file=sys.stderr)
        return NO_FIELDS_KEY
    db = _db(settings)
    if args.migrate:
        upgrade(db)
        products.install_products(db)
    elif _first_start(db):
        try:
            upgrade(db)
            products.install_products(db)
        except SQLAlchemyError:
            log.info("another process set the empty database up first")
    refused = _schema_refused(db, settings) or _fields_refused(db)
    if refused is not None:
        db.dispose()
        return refused
    _serve(settings, db, args.host, args.port, not args.no_scheduler)
    return 0


def _fields_refused(db: Database) -> int | None:
    """NO_FIELDS_KEY after saying why when the configured column keys do not open what the
    database holds (a wrong key, a key id dropped too early); None when they do."""
    try:
        problem = fieldrewrap.check_keys(db)
    except SQLAlchemyError:
        return None  # unreachable: _schema_refused said so already
    if problem is None:
        return None
    print(f"错误：{problem}。{FIELDS_KEYS_HELP}", file=sys.stderr)
    return NO_FIELDS_KEY


def _first_start(db: Database) -> bool:
    """A database with no schema at all is set up by the first process that meets it (one
    machine, a first `make run`); an older schema is never migrated here. Two processes
    meeting the same empty database: the loser's migration fails and it then finds the
    schema the winner made."""
    try:
        return current_revision(db) is None and not inspect(db.engine).get_table_names()
    except SQLAlchemyError:
        return False  # unreachable: _schema_refused says so


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    """The scheduled jobs: active when this process holds the leadership, else standby."""
    if not fieldseal.is_installed():
        print(f"错误：未配置{FIELDS_KEYS_HELP}", file=sys.stderr)
        return NO_FIELDS_KEY
    db = _db(settings)
    refused = _schema_refused(db, settings) or _fields_refused(db)
    if refused is not None:
        db.dispose()
        return refused
    role = roles.SchedulerRole(db, settings.notify,
                               leadership_for(settings.database_url, settings.var_dir),
                               args.standby_poll, files=_document_store(settings))
    print(f"调度器进程启动（健康检查 http://{args.host}:{args.port}/healthz）；"
          f"另一调度器在运行时本进程待命，每 {args.standby_poll:g} 秒尝试接管", flush=True)
    web.run_app(role.app(), host=args.host, port=args.port, print=None, access_log=None)
    return 0


def cmd_rasa(args: argparse.Namespace, settings: Settings) -> int:
    """The Rasa server as `xiaobao up` starts it (bot/rasa_run.py), in the foreground."""
    model = bot.model_path()
    if not model.exists():
        print(f"错误：模型 {model.name} 不存在：请先运行 `xiaobao train`", file=sys.stderr)
        return 2
    actions = args.actions_url or settings.actions_url or "http://127.0.0.1:5055"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    cmd = bot.rasa_command(model, args.port, 0, settings.var_dir, settings.rasa_token,
                           args.host, actions_url=actions)
    return bot.run_foreground(cmd, bot.bot_env(**bot.tracker_env()))


def cmd_actions(args: argparse.Namespace, settings: Settings) -> int:
    """The action server as `xiaobao up` starts it, in the foreground; it calls the
    platform's API at --api-url (XIAOBAO_API_URL) with the API token."""
    api = args.api_url or os.environ.get("XIAOBAO_API_URL") or "http://127.0.0.1:8000"
    env = bot.bot_env(XIAOBAO_API_URL=api, XIAOBAO_API_TOKEN=settings.api_token,
                      SANIC_HOST=args.host)
    return bot.run_foreground(bot.actions_command(args.port), env)


def up_settings(settings: Settings, args: argparse.Namespace) -> Settings:
    """`xiaobao up` points the platform's channels at the Rasa server it starts."""
    if args.no_bot:
        return settings
    host = bot.reachable(settings.rasa_host)
    actions = bot.reachable(settings.actions_host)
    return dataclasses.replace(settings, rasa_url=f"http://{host}:{args.rasa_port}",
                               actions_url=f"http://{actions}:{args.action_port}",
                               rasa_urls=(), actions_urls=())


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    settings = files_keys_or_refuse(settings, demo=True) or settings  # the demo: never None
    db = _prepare(settings, args.members)
    procs: list[subprocess.Popen[bytes]] = []
    settings = up_settings(settings, args)
    if not args.no_bot:
        model, trained = bot.train()
        print(f"Rasa 模型：{model.name}{'（已重新训练）' if trained else ''}", flush=True)
        procs = bot.start_bot(model, args.rasa_port, args.action_port,
                              f"http://{args.host}:{args.port}", settings.api_token,
                              settings.var_dir, rasa_token=settings.rasa_token,
                              host=settings.rasa_host, actions_host=settings.actions_host)
        print(f"Rasa 服务器 http://{settings.rasa_host}:{args.rasa_port}"
              f"（REST 渠道 /webhooks/rest/webhook；HTTP API 需令牌），"
              f"动作服务器 http://{settings.actions_host}:{args.action_port}", flush=True)
    # SIGTERM stops like Ctrl-C (aiohttp's run_app handles both once serving); then the bot
    # processes are stopped in `finally`
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _serve(settings, db, args.host, args.port, not args.no_scheduler,
               dict(zip(("动作服务器", "Rasa 服务器"), procs, strict=False)), role="up")
    finally:
        bot.stop(procs)
    return 0


def cmd_wechat_menu(args: argparse.Namespace, settings: Settings) -> int:
    """Create the Official Account's menu from a JSON file (WeChat's menu/create body)."""
    from pathlib import Path

    from backoffice.notifications.base import SendError
    from backoffice.notifications.config import token_cache
    from backoffice.notifications.wechat import WeChatSender
    from channels.wechat import WeChatConfig, load_menu

    config = WeChatConfig.from_env()
    if config is None or not config.appid or not config.secret:
        print("错误：需要 XIAOBAO_WECHAT_TOKEN、XIAOBAO_WECHAT_APPID 和 XIAOBAO_WECHAT_SECRET",
              file=sys.stderr)
        return 2
    path = Path(args.file) if args.file else Path(__file__).parents[1] / "channels" / \
        "wechat_menu.json"
    try:
        menu = load_menu(path)
    except (OSError, ValueError) as exc:
        print(f"错误 [file]：菜单文件无法读取：{exc}", file=sys.stderr)
        return 2
    sender = WeChatSender(config.appid, config.secret, cache=token_cache(settings.notify,
                                                                         _db(settings)),
                          api_base=config.api_base)
    try:
        answer = sender.api("/cgi-bin/menu/create", menu)
    except SendError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 1
    _print_json(answer)
    return 0 if answer.get("errcode", 0) == 0 else 1
def cmd_ocr(args: argparse.Namespace, settings: Settings) -> int:
    """Read one document with the OCR models; --json prints the CONTRACTS.md object."""
    from ocr import OcrInputError, read_document
    from ocr.engine import EngineUnavailable

    path = Path(args.file)
    if not path.is_file():
        raise DomainError(f"文件 {path} 不存在", "file")
    try:
        reading = read_document(path.read_bytes(), args.type)
    except OcrInputError as exc:
        raise DomainError(exc.message, exc.field) from None
    except EngineUnavailable as exc:
        raise DomainError(str(exc), "XIAOBAO_OCR_ENGINE") from None
    if args.json:
        _print_json(reading.as_contract())
        return 0
    print(f"材料类型：{reading.doc_type}")
    for name, item in reading.fields.items():
        print(f"  {name}: {item['value']}（置信度 {item['confidence']:.2f}）")
    for warning in reading.warnings:
        print(f"  注意：{warning}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    try:
        model, trained = bot.train(force=args.force)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"训练失败：{exc}", file=sys.stderr)
        return 1
    if trained:
        print(f"模型已训练：{model}（用时 {time.perf_counter() - started:.0f} 秒）")
    else:
        print(f"训练数据未变化，沿用模型：{model}")
    return 0


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    url = args.url or os.environ.get("XIAOBAO_CHAT_URL") or None
    platform = "http://127.0.0.1:8000"  # `xiaobao serve`/`up` by default
    return bot.chat(url, args.user, platform, settings.rasa_url)


def _files_run(settings: Settings, run: Callable[..., resealing.Tally]) -> int:
    """One pass of `files encrypt` or `files rewrap` over the configured store."""
    keyed = files_keys_or_refuse(settings)
    if keyed is None or keyed.files_keys is None:
        return NO_FILES_KEY
    store = open_store(keyed.files_url, keyed.files_root, endpoint_url=keyed.s3_endpoint_url,
                       region=keyed.s3_region, keyring=keyed.files_keys)
    print(f"材料存储 {keyed.files_url or keyed.files_root}；当前密钥 "
          f"{keyed.files_keys.current_id}（已配置 {', '.join(keyed.files_keys.ids)}）", flush=True)
    tally = run(store, keyed.files_keys, lambda line: print(line, flush=True))
    _print_json(dataclasses.asdict(tally))
    return FILES_REFUSED if tally.failed else 0


def _document_store(settings: Settings) -> Any:
    """The configured document store (deleting needs no key: sealed or not, a file goes)."""
    return open_store(settings.files_url, settings.files_root,
                      endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                      keyring=settings.files_keys)


def cmd_privacy_retention(args: argparse.Namespace, settings: Settings) -> int:
    """One pass of the retention job now; --dry-run counts what would go, by purpose."""
    db = _db(settings)
    refused = _schema_refused(db, settings)
    if refused is not None:
        db.dispose()
        return refused
    try:
        counts = retention_job.run_from_env(db, _document_store(settings), dry_run=args.dry_run)
    finally:
        db.dispose()
    _print_json(counts)
    return 0


def cmd_files_encrypt(args: argparse.Namespace, settings: Settings) -> int:
    return _files_run(settings, resealing.encrypt_all)


def cmd_files_rewrap(args: argparse.Namespace, settings: Settings) -> int:
    return _files_run(settings, resealing.rewrap_all)


def cmd_fields_rewrap(args: argparse.Namespace, settings: Settings) -> int:
    """Every sealed column value under an older key moved to the current one, in batches,
    while the platform serves; the last line is JSON (no value, only where)."""
    keys = fieldseal.installed()
    db = _db(settings)
    try:
        refused = _schema_refused(db, settings)
        if refused is not None:
            return refused
        print(f"当前字段密钥 {keys.keyring.current_id}（已配置 {', '.join(keys.keyring.ids)}）",
              flush=True)
        tally = fieldrewrap.rewrap_all(db, lambda line: print(line, flush=True))
    finally:
        db.dispose()
    _print_json(dataclasses.asdict(tally))
    return FILES_REFUSED if tally.failed or tally.raced else 0


#: the commands that read or write the database (the others never need the column keys)
_USES_DATABASE = (cmd_db_upgrade, cmd_demo_seed, cmd_import_roster, cmd_scheme_renew,
                  cmd_scheme_loss_ratio, cmd_staff_add, cmd_staff_disable, cmd_serve, cmd_up,
                  cmd_scheduler, cmd_privacy_retention, cmd_fields_rewrap)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xiaobao", description="小保：保险客服与后台平台")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace, Settings], int], help_text: str,
            parent: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
        p = (parent or sub).add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        return p

    p = add("serve", cmd_serve, "启动平台进程（渠道、后台 API、坐席台、调度器）；可运行多个。"
            "空库时建库；已有的旧结构不迁移，拒绝启动（先运行 xiaobao db upgrade）")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-scheduler", action="store_true",
                   help="不在本进程运行调度器（多进程部署时由 xiaobao scheduler 运行）")
    p.add_argument("--migrate", action="store_true",
                   help="启动前迁移数据库并更新产品目录"
                   "（仅限单进程；多进程时用 xiaobao db upgrade）")

    p = add("scheduler", cmd_scheduler, "启动调度器进程：同一数据库上只有一个在运行定时任务，"
            "其余待命，运行者退出后接管")
    p.add_argument("--host", default="127.0.0.1", help="健康检查的监听地址")
    p.add_argument("--port", type=int, default=8001, help="健康检查（/healthz）的端口")
    p.add_argument("--standby-poll", type=_poll_seconds, default=2.0,
                   help="待命时每隔多少秒尝试接管、运行时每隔多少秒确认仍持有（0.1–60，默认 2）")

    p = add("rasa", cmd_rasa, "启动 Rasa 服务器（与 xiaobao up 相同的方式：bot/rasa_run.py，"
            "当前训练数据对应的模型）")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5005)
    p.add_argument("--actions-url", help="动作服务器地址（默认 $XIAOBAO_ACTIONS_URL，"
                   "否则 http://127.0.0.1:5055）")

    p = add("actions", cmd_actions, "启动动作服务器（与 xiaobao up 相同的方式）")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5055)
    p.add_argument("--api-url", help="平台 API 地址（默认 $XIAOBAO_API_URL，否则 "
                   "http://127.0.0.1:8000）")

    p = add("up", cmd_up, "一键启动：迁移数据库，空库时生成演示数据，启动平台")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--members", type=int, default=demo.DEFAULT_MEMBERS,
                   help="空库时演示团体保单的被保险人数")
    p.add_argument("--no-scheduler", action="store_true", help="不启动调度器")
    p.add_argument("--rasa-port", type=int, default=5005)
    p.add_argument("--action-port", type=int, default=5055)
    p.add_argument("--no-bot", action="store_true", help="不启动 Rasa 与动作服务器")

    p = add("train", cmd_train, "训练 Rasa 模型到 models/（训练数据未变化时跳过）")
    p.add_argument("--force", action="store_true", help="即使训练数据未变化也重新训练")

    p = add("chat", cmd_chat, "终端聊天：以 web 用户身份与小保对话")
    p.add_argument("--url", help="平台地址（经网关的网页聊天接口，支持转人工与会话记录；默认 "
                   "$XIAOBAO_CHAT_URL，否则本机平台 http://127.0.0.1:8000，平台未运行时直连 "
                   "Rasa）；以 /webhooks/rest/webhook 结尾则直连 Rasa 的 REST 渠道")
    p.add_argument("--user", help="直连 Rasa 时的用户 id（默认随机；经平台时由平台分配）")

    db_parser = sub.add_parser("db", help="数据库管理", description="数据库管理")
    db_sub = db_parser.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    add("upgrade", cmd_db_upgrade, "执行 Alembic 迁移到最新版本", db_sub)

    demo_parser = sub.add_parser("demo", help="演示数据", description="演示数据")
    demo_sub = demo_parser.add_subparsers(dest="demo_command", required=True, metavar="COMMAND")
    p = add("seed", cmd_demo_seed, "生成演示数据：潮南区统保方案、被保险人清单、个人保单", demo_sub)
    p.add_argument("--members", type=_positive, default=demo.DEFAULT_MEMBERS)
    p.add_argument("--seed", type=int, default=1)

    staff_parser = sub.add_parser("staff", help="坐席台人员", description="坐席台人员")
    staff_sub = staff_parser.add_subparsers(dest="staff_command", required=True,
                                            metavar="COMMAND")
    p = add("add", cmd_staff_add, "添加坐席台账号（密码以 argon2id 散列保存）", staff_sub)
    p.add_argument("username", help="用户名：小写字母开头，3–40 位")
    p.add_argument("--role", required=True, choices=staff_roles.ROLES)
    p.add_argument("--name", help="显示姓名")
    p.add_argument("--phone", help="手机号（接收时限提醒短信）")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    p = add("disable", cmd_staff_disable, "停用账号（立即结束其坐席台会话和 API 令牌）", staff_sub)
    p.add_argument("username")
    p.add_argument("--enable", action="store_true", help="重新启用")

    files_parser = sub.add_parser("files", help="上传材料的静态加密",
                                  description="上传材料的静态加密")
    files_sub = files_parser.add_subparsers(dest="files_command", required=True,
                                            metavar="COMMAND")
    add("encrypt", cmd_files_encrypt, "以当前密钥就地加密存储中的明文材料（可重复运行、可中断后"
        "继续、平台不停机；已加密的不动）", files_sub)
    add("rewrap", cmd_files_rewrap, "把以旧密钥封装的数据密钥改用当前密钥封装（密文不变；之后可从 "
        "XIAOBAO_FILES_KEYS 中去掉旧密钥）", files_sub)

    fields_parser = sub.add_parser("fields", help="数据库中个人信息字段的加密",
                                   description="数据库中个人信息字段的加密")
    fields_sub = fields_parser.add_subparsers(dest="fields_command", required=True,
                                              metavar="COMMAND")
    add("rewrap", cmd_fields_rewrap, "把以旧密钥加密的身份证号、手机号、银行卡号改用当前密钥"
        "加密（分批、平台不停机；查找散列不变；之后可从 XIAOBAO_FIELDS_KEYS 中去掉旧密钥）",
        fields_sub)

    privacy_parser = sub.add_parser("privacy", help="个人信息保护", description="个人信息保护")
    privacy_sub = privacy_parser.add_subparsers(dest="privacy_command", required=True,
                                                metavar="COMMAND")
    p = add("retention", cmd_privacy_retention, "按保存期限删除到期的会话记录、Rasa 追踪记录、"
            "材料原件和失败计数（与调度任务 privacy_retention 相同）", privacy_sub)
    p.add_argument("--dry-run", action="store_true",
                   help="只按用途统计将删除的数量，不删除（不输出任何个人信息）")

    scheme_parser = sub.add_parser("scheme", help="统保方案", description="统保方案")
    scheme_sub = scheme_parser.add_subparsers(dest="scheme_command", required=True,
                                              metavar="COMMAND")
    p = add("renew", cmd_scheme_renew, "续保：按本年度被保险人清单签发下一年度团体保单"
            "（保险期满前 90 日起）", scheme_sub)
    p.add_argument("policy", help="本年度团体保单号")
    p.add_argument("--premium-per-insured", help="政府确定的下一年度每人保费（元；默认沿用本年度）")
    p.add_argument("--actor", default="cli", help="记入审计日志的操作人")
    p = add("loss-ratio", cmd_scheme_loss_ratio, "本保险年度赔付率（已赔 + 未决 ÷ 保费）及全年预测",
            scheme_sub)
    p.add_argument("policy", help="团体保单号")

    p = add("import-roster", cmd_import_roster, "导入团体保单被保险人清单（CSV，UTF-8）")
    p.add_argument("--policy", required=True, help="团体保单号")
    p.add_argument("--actor", default="cli", help="记入审计日志的操作人")
    p.add_argument("--removals", action="store_true",
                   help="文件是退出名单（死亡、迁出、更正）："
                   "CSV id_number,name,reason,date[,note]，reason 为 death/moved_away/correction"
                   " 或 死亡/迁出/更正；保障至 date 当日")
    p.add_argument("file", help="CSV：name,gender,birth_date,id_number,phone,address"
                   "（--removals 时见上）")

    p = add("wechat-menu", cmd_wechat_menu, "按配置文件创建公众号自定义菜单")
    p.add_argument("file", nargs="?", help="菜单 JSON（默认 channels/wechat_menu.json）")
    from ocr.extractors import DOC_TYPES as OCR_TYPES

    p = add("ocr", cmd_ocr, "识别一份材料（照片、扫描件或 PDF），输出材料类型与字段")
    p.add_argument("file", help="图片（JPEG/PNG/…）或 PDF")
    p.add_argument("--type", default="auto", choices=("auto", *OCR_TYPES),
                   help="材料类型（默认 auto：自动判断）")
    p.add_argument("--json", action="store_true", help="输出 JSON（见 CONTRACTS.md）")
    return parser


def _poll_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 60:  # also refuses nan and inf
        raise argparse.ArgumentTypeError("须为 0.1 至 60 之间的秒数")
    return value


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("须为正整数")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    # the long-running processes (and the rotation) need the keys set, or the demo's consent
    # (XIAOBAO_FILES_DEMO_KEY=1, `xiaobao up`); a one-off command on the embedded setup
    # (demo seed, import-roster, db upgrade…) uses the demo keys under var/, and says so
    keys = settings.field_keys(demo=args.fn in _USES_DATABASE and args.fn not in (
        cmd_serve, cmd_scheduler, cmd_fields_rewrap))
    fieldseal.install(keys)
    if keys is not None and settings.fields_keys is None and args.fn in _USES_DATABASE:
        print(f"注意：个人信息字段以演示密钥加密（{settings.var_dir / DEMO_FIELDS_KEY}，仅限本机"
              "演示；正式部署请设置 XIAOBAO_FIELDS_KEYS 与 XIAOBAO_FIELDS_HASH_KEY）",
              file=sys.stderr if args.fn is not cmd_up else sys.stdout, flush=True)
    try:
        return int(args.fn(args, settings))
    except DomainError as exc:
        print(f"错误 [{exc.field or '-'}]：{exc.message}", file=sys.stderr)
        return 2
    except (fieldseal.FieldKeysMissing, fieldseal.SealError, StatementError) as exc:
        cause = exc.orig if isinstance(exc, StatementError) else exc
        if isinstance(cause, fieldseal.FieldKeysMissing):
            print(f"错误：未配置{FIELDS_KEYS_HELP}", file=sys.stderr)
        elif isinstance(cause, fieldseal.SealError):
            print(f"错误：数据库中的个人信息字段无法解密（{cause}）。{FIELDS_KEYS_HELP}",
                  file=sys.stderr)
        else:
            raise
        return NO_FIELDS_KEY
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
