"""Mounts the channels on the platform's aiohttp app: `/wechat` (when XIAOBAO_WECHAT_TOKEN is
set), `/ivr/…` (when XIAOBAO_IVR_SECRET is set), `/sms/inbound` (when XIAOBAO_SMS_SECRET is
set), `/chat` (always). The back office is the
port the composition root hands in (channels.port.Backoffice: in process or over HTTP); the
router returned is what the platform installs as the back office's hooks (delivery,
hand-back)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from backoffice.notifications.wechat import TokenCache, WeChatSender
from channels.ivr import IvrChannel, IvrDialog
from channels.lease import InstanceLease
from channels.port import Backoffice, BackofficeRefused, BackofficeUnavailable
from channels.rasa_pool import RasaPool
from channels.readiness import BotReadiness
from channels.router import Router
from channels.sms import SmsChannel
from channels.state import CallStore, PendingStore, connect, shared_state
from channels.web import WebChannel
from channels.web_session import WebSessions
from channels.wechat import Deduper, WeChatApi, WeChatChannel, WeChatConfig
from xiaobao.config import Settings

log = logging.getLogger("xiaobao.channels")

ROUTER = web.AppKey("router", Router)
READINESS = web.AppKey("readiness", BotReadiness)
RECOVERY_RETRY = 5.0  # seconds between tries while the back office is unavailable at start-up
WECHAT = web.AppKey("wechat", WeChatChannel)
IVR = web.AppKey("ivr", IvrDialog)
WEB = web.AppKey("web", WebChannel)


def mount_channels(app: web.Application, settings: Settings, backoffice: Backoffice,
                   tokens: TokenCache, registry: CollectorRegistry | None = None) -> Router:
    """`tokens`: where WeChat access tokens are shared between processes."""
    rasa_timeout = float(os.environ.get("XIAOBAO_RASA_TIMEOUT", "30"))
    # one sender, one Rasa instance (a consistent hash; moved only while its home is down)
    paired = settings.actions_urls if len(settings.rasa_instances) > 1 else ()
    rasa = RasaPool(settings.rasa_instances, actions_urls=paired, token=settings.rasa_token,
                    timeout=rasa_timeout, registry=registry)
    readiness = BotReadiness(settings.rasa_instances, settings.rasa_token,
                             paired or settings.actions_url)
    readiness.routing = rasa.states
    router = Router(backoffice, rasa, settings.var_dir / "channels-spool.jsonl",
                    settings.instance or None, readiness, settings.bot_start_wait)
    router.lease = InstanceLease(backoffice, router.instance, settings.instance_lease,
                                 settings.takeover_interval)
    app[ROUTER] = router
    app[READINESS] = readiness
    # state several platform processes must share: in Redis when configured
    redis = connect(settings.notify.redis_url)
    sessions = WebSessions(settings.api_token, settings.web_session_ttl.total_seconds())
    app[WEB] = WebChannel(router, sessions, PendingStore(redis))
    app[WEB].routes(app)
    wechat = WeChatConfig.from_env()
    if wechat is not None:
        api_client = None
        if wechat.appid and wechat.secret:
            sender = WeChatSender(wechat.appid, wechat.secret, cache=tokens,
                                  api_base=wechat.api_base, template_id=wechat.template_id)
            api_client = WeChatApi(sender, backoffice)
        answers = None if registry is None else Counter(
            "xiaobao_wechat_answers", "WeChat turns by how they were answered (passive reply "
            "within the wait, or the customer-service API)", ["how"], registry=registry)
        deduper = Deduper(backoffice, settings.notify.redis_url, 2 * wechat.replay_window + 60)
        app[WECHAT] = WeChatChannel(wechat, router, deduper, api_client, backoffice, answers)
        app[WECHAT].routes(app)
    secret = os.environ.get("XIAOBAO_IVR_SECRET", "").strip()
    if secret:
        # a copy of a phone event waits for its first answer as long as a turn may take
        app[IVR] = IvrDialog(router, backoffice, CallStore(shared_state(redis, backoffice)),
                             replay_wait=rasa_timeout + 5)
        transfer = os.environ.get("XIAOBAO_IVR_TRANSFER_URI", "sip:agents@xiaobao.local")
        IvrChannel(secret, app[IVR], transfer).routes(app)

    sms_secret = os.environ.get("XIAOBAO_SMS_SECRET", "").strip()
    if sms_secret:
        SmsChannel(sms_secret, backoffice, shared_state(redis, backoffice), router).routes(app)

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        # before the server listens: the messages left unanswered take their places in their
        # senders' order first (their answers run in the background)
        recovery = None if await recover_once(router) else asyncio.create_task(recover(router))
        # then, every few seconds: the lease renewed, and what dead processes left taken over
        takeover = asyncio.create_task(keep_lease(router))
        yield
        takeover.cancel()
        if recovery is not None:
            recovery.cancel()
        if WECHAT in app:
            await app[WECHAT].close()
        await router.close()  # the bot's answers not yet in the transcript
        await backoffice.close()
        await rasa.close()
        await readiness.close()
        if redis is not None:
            await redis.aclose()

    app.cleanup_ctx.append(lifetime)
    return router


async def recover_once(router: Router) -> bool:
    """The messages stored but left unanswered by a killed process of this instance (or whose
    answerer's lease ran out) are claimed and answered; False when the back office is away."""
    try:
        await router.recover()
    except (BackofficeUnavailable, BackofficeRefused):
        log.warning("unanswered messages not recovered yet: the back office is unavailable")
        return False
    return True


async def keep_lease(router: Router) -> None:
    """This process's lease renewed every interval, and the pending messages of processes
    whose lease ran out taken over and answered in their senders' order (Router.recover)."""
    lease = router.lease
    if lease is None:
        return
    while True:
        await asyncio.sleep(lease.interval)
        try:
            await lease.renew()
            await router.recover(takeover=True)
        except (BackofficeUnavailable, BackofficeRefused) as exc:
            log.warning("the instance lease was not renewed: %s", exc)
        except Exception:  # the next round tries again
            log.exception("the instance lease or the takeover failed")


async def recover(router: Router) -> None:
    """`recover_once` until the back office answers."""
    while True:
        await asyncio.sleep(RECOVERY_RETRY)
        if await recover_once(router):
            return
