"""Logs never carry personal data: ID numbers, mobile numbers and bank cards are masked."""

from __future__ import annotations

import io
import logging
from datetime import date
from typing import Any

import pytest

from backoffice.domain.identity import make_id_number
from xiaobao import logs
from xiaobao.logs import MaskingFilter, mask_text

ID_DIGIT = make_id_number("440514", date(1950, 1, 1), 1)
ID_X = next(make_id_number("440514", date(1950, 1, 1), s) for s in range(1, 999)
            if make_id_number("440514", date(1950, 1, 1), s).endswith("X"))
PHONE = "13812345678"
CARD16 = "6222020200112233"
CARD19 = "6222020200112233445"


def _digits_gone(text: str, secret: str) -> None:
    """The secret is not in the text, nor its identifying middle part."""
    assert secret not in text
    assert secret.lower() not in text
    assert secret[6:14] not in text if len(secret) == 18 else secret[3:7] not in text


@pytest.mark.parametrize("idn", [ID_DIGIT, ID_X, ID_X.lower()])
def test_id_numbers_are_masked(idn: str) -> None:
    masked = mask_text(f"被保险人身份证号 {idn}，已核实")
    _digits_gone(masked, idn)
    assert masked == f"被保险人身份证号 {idn[:6]}********{idn[-4:]}，已核实"


def test_id_number_next_to_chinese_text() -> None:
    masked = mask_text(f"身份证{ID_X}的客户")
    _digits_gone(masked, ID_X)
    assert masked.startswith("身份证440514") and masked.endswith("X的客户")


@pytest.mark.parametrize("text", [PHONE, f"+86{PHONE}", f"86{PHONE}", f"tel:{PHONE}",
                                  f"手机{PHONE}。"])
def test_mobile_numbers_are_masked(text: str) -> None:
    masked = mask_text(text)
    assert PHONE not in masked
    assert "1234" not in masked
    assert masked.endswith(("5678", "5678。"))


@pytest.mark.parametrize("glued", [f"ID{ID_DIGIT}", f"身份证ID{ID_X}，电话", f"sfz{ID_X.lower()}"])
def test_an_id_number_glued_to_letters_is_masked_when_it_is_one(glued: str) -> None:
    idn = ID_DIGIT if ID_DIGIT in glued else ID_X
    _digits_gone(mask_text(glued), idn)


@pytest.mark.parametrize("kept", ["P202600000001", "R202600000001", "G202600000001234567",
                                  "BQ2026000001", "L202600000001"])
def test_our_own_numbers_stay_readable(kept: str) -> None:
    assert mask_text(f"保单 {kept} 已处理") == f"保单 {kept} 已处理"


@pytest.mark.parametrize("text", ["138-1234-5678", "138 1234 5678", "电话：138-1234-5678。",
                                  "0754-87654321", "座机020-12345678转8"])
def test_phones_written_in_groups_and_landlines_are_masked(text: str) -> None:
    masked = mask_text(text)
    assert "1234-5678" not in masked and "1234 5678" not in masked
    assert "87654321" not in masked and "12345678" not in masked


@pytest.mark.parametrize("card", [CARD16, CARD19, "622202020011"])
def test_bank_cards_are_masked(card: str) -> None:
    masked = mask_text(f"扣款账户 {card} 扣款成功")
    assert card not in masked
    assert masked == f"扣款账户 {'*' * (len(card) - 4)}{card[-4:]} 扣款成功"


def test_everything_in_one_line_and_nothing_else_touched() -> None:
    line = (f"claim C2026000123 by {ID_DIGIT} phone {PHONE} card {CARD19} "
            f"amount 1234.50 on 2026-11-22 10:15:00 code 440514 days 180")
    masked = mask_text(line)
    for secret in (ID_DIGIT, PHONE, CARD19):
        assert secret not in masked
    for kept in ("amount 1234.50", "2026-11-22 10:15:00", "code 440514", "days 180",
                 "C2026000123"):
        assert kept in masked


def test_url_query_string_is_masked() -> None:
    request = (f'127.0.0.1 "GET /api/v1/policies?id_number={ID_X}&phone={PHONE} HTTP/1.1" '
               f"200 512")
    masked = mask_text(request)
    assert ID_X not in masked and PHONE not in masked
    assert f"/api/v1/policies?id_number={ID_X[:6]}********{ID_X[-4:]}&phone=138****5678" in masked
    assert masked.endswith('HTTP/1.1" 200 512')
    lower = mask_text(f"/api/v1/policies?id_number={ID_X.lower()}")
    assert ID_X.lower() not in lower
    card = mask_text(f"/api/v1/parties/{ID_DIGIT}/cards?card_number={CARD16}")
    assert ID_DIGIT not in card and CARD16 not in card


def test_text_without_personal_data_is_unchanged() -> None:
    for text in ("", "保单状态：有效", "GET /healthz 200", "共 215,864 人，保费 2158640.00 元",
                 "1380013", "2026-11-22T10:15:00+08:00"):
        assert mask_text(text) == text


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("xiaobao.test", logging.INFO, __file__, 1, msg, args, None)


def test_masking_filter_masks_a_record_with_args() -> None:
    record = _record("查询 %s 的保单，手机 %s，卡号 %s", ID_X, PHONE, CARD16)
    assert MaskingFilter().filter(record) is True
    message = record.getMessage()
    for secret in (ID_X, PHONE, CARD16):
        assert secret not in message
    assert message == (f"查询 {ID_X[:6]}********{ID_X[-4:]} 的保单，手机 138****5678，"
                       f"卡号 ************2233")


def test_masking_filter_masks_mapping_args_and_leaves_clean_records_alone() -> None:
    record = _record("%(who)s called from %(phone)s", {"who": "张三", "phone": PHONE})
    MaskingFilter().filter(record)
    assert record.getMessage() == "张三 called from 138****5678"

    clean = _record("product %s: %s insured", "CN-ELDER-ACC", 215864)
    MaskingFilter().filter(clean)
    assert clean.args == ("CN-ELDER-ACC", 215864)  # nothing to mask: untouched
    assert clean.msg == "product %s: %s insured"


def test_a_handler_with_the_filter_writes_no_personal_data() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("xiaobao.test.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("reporter %s, insured %s", PHONE, ID_DIGIT)
        logger.warning("GET /api/v1/policies?id_number=%s", ID_X)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    for secret in (PHONE, ID_DIGIT, ID_X):
        assert secret not in output
    assert "138****5678" in output and "440514********" in output


def test_tracebacks_and_stack_info_are_masked_too() -> None:
    """A logged exception (an IntegrityError lists its parameters) must not leak either."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("xiaobao.test.exceptions")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError(f"[parameters: ('张三', '{ID_X}', '{PHONE}', '{CARD19}')]")
        except ValueError:
            logger.exception("insert failed for %s", PHONE)
        logger.warning("where am I, %s", ID_DIGIT, stack_info=True)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    assert "Traceback" in output and "ValueError" in output and "Stack (most recent" in output
    for secret in (ID_X, PHONE, CARD19, ID_DIGIT):
        assert secret not in output
    assert f"'{ID_X[:6]}********{ID_X[-4:]}'" in output


def test_configure_installs_the_masking_filter(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        logs.configure("INFO")
        assert root.level == logging.INFO
        assert any(isinstance(f, MaskingFilter) for h in root.handlers for f in h.filters)
        logging.getLogger("aiohttp.access").info('"GET /api/v1/policies?id_number=%s" 200',
                                                 ID_DIGIT)
        logging.getLogger("xiaobao").debug("hidden %s", PHONE)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    err = capsys.readouterr().err
    assert ID_DIGIT not in err and "440514********" in err
    assert "hidden" not in err


async def test_a_request_the_parser_refuses_is_one_warning_without_a_traceback(
        aiohttp_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    from aiohttp import web

    from xiaobao.logs import BadRequestFilter

    server_log = logging.getLogger("aiohttp.server")
    refusals = BadRequestFilter()
    server_log.addFilter(refusals)  # as configure() does for the platform
    try:
        server = await aiohttp_server(web.Application())
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET /" + b"1" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        status_line = (await reader.read(200)).split(b"\r\n")[0]
        writer.close()
        await asyncio.sleep(0.05)
    finally:
        server_log.removeFilter(refusals)
    assert b" 400 " in status_line
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records, "the refusal is still logged"
    assert all(r.levelno == logging.WARNING and not r.exc_info for r in records)
    assert "LineTooLong" in records[0].getMessage()
