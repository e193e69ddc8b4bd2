"""`xiaobao wechat-menu` creates the menu through the (stand-in) WeChat API."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from channel_kit import APPID, WECHAT_TOKEN, WeChatApiStandIn

from backoffice.store.db import Database

XIAOBAO = Path(sys.executable).with_name("xiaobao")


async def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(XIAOBAO), "wechat-menu", *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_menu_from_the_config_file(sqlite_db: Database, tmp_path: Path,
                                         wechat_api: WeChatApiStandIn) -> None:
    env = {**os.environ, "XIAOBAO_DATABASE_URL": sqlite_db.url, "XIAOBAO_VAR_DIR": str(tmp_path),
           "XIAOBAO_WECHAT_TOKEN": WECHAT_TOKEN, "XIAOBAO_WECHAT_APPID": APPID,
           "XIAOBAO_WECHAT_SECRET": "test-secret", "XIAOBAO_WECHAT_API_BASE": wechat_api.base,
           "XIAOBAO_REDIS_URL": ""}
    code, out, _ = await run(env)
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["errcode"] == 0
    keys = [b.get("key") for top in wechat_api.menus[0]["button"]
            for b in [top, *top.get("sub_button", [])]]
    assert "report_incident" in keys and "human_handoff" in keys
    custom = tmp_path / "menu.json"
    custom.write_text(json.dumps({"button": [{"type": "click", "name": "报案",
                                              "key": "report_incident"}]}), encoding="utf-8")
    assert (await run(env, str(custom)))[0] == 0
    assert wechat_api.menus[1]["button"][0]["name"] == "报案"
    custom.write_text("{not json", encoding="utf-8")
    code, _, err = await run(env, str(custom))
    assert code == 2 and "菜单文件" in err
    code, _, err = await run({**env, "XIAOBAO_WECHAT_SECRET": ""})
    assert code == 2 and "XIAOBAO_WECHAT_SECRET" in err
