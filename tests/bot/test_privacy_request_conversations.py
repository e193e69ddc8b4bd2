"""Requests of the data subject in the chat (查阅、复制、更正、删除), against the real Rasa
server, action server and back office: identification first, the kind asked when not said, the
correction's details, the read-back, and the request filed with its number and the clock; the
back office's state is checked afterwards."""

from __future__ import annotations

from sqlalchemy import select

from backoffice.store.fieldseal import keyed_hash
from backoffice.store.models import Party, PrivacyRequestRow
from tests.bot.test_conversations import db_of, texts
from tests.bot_stack import BotStack, new_sender


def requests_of(bot_stack: BotStack, id_number: str) -> list[PrivacyRequestRow]:
    db = db_of(bot_stack)
    try:
        with db.read() as s:
            party = s.execute(select(Party).where(
                Party.id_number_hash == keyed_hash("id_number", id_number))).scalar_one()
            rows = list(s.execute(select(PrivacyRequestRow).where(
                PrivacyRequestRow.party_id == party.id).order_by(PrivacyRequestRow.id)
            ).scalars())
            for row in rows:
                s.expunge(row)
            return rows
    finally:
        db.dispose()


def identify(bot_stack: BotStack, sender: str, ask: str, insured: str, phone: str) -> str:
    asked = texts(bot_stack.say(sender, ask))
    assert "核验" in asked and "身份" in asked, asked
    bot_stack.say(sender, insured)
    said = texts(bot_stack.say(sender, phone))
    assert "身份核验通过" in said, said
    return said


def test_an_access_request_is_filed_once(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(43)
    sender = new_sender("wechat")
    read_back = identify(bot_stack, sender, "我要查看你们存了我哪些信息", insured, phone)
    assert "申请查阅" in read_back and "提交吗" in read_back, read_back
    assert requests_of(bot_stack, insured) == []  # nothing filed before the yes
    done = texts(bot_stack.say(sender, "是"))
    [row] = requests_of(bot_stack, insured)
    assert f"编号 {row.request_no}" in done and "15个工作日" in done, done
    assert row.due_on.isoformat() in done and "工作人员" in done and "链接" in done, done
    assert (row.kind, row.channel, row.status, row.verified_by, row.received_by) == (
        "access", "chat", "received", "phone", "customer")
    assert (row.user_channel, row.channel_user) == ("wechat", sender.partition(":")[2])
    # asked again while it is open: the same number, nothing new
    again = texts(bot_stack.say(sender, "我想看看你们有我的哪些资料"))
    assert "申请查阅" in again, again
    replay = texts(bot_stack.say(sender, "是的"))
    assert row.request_no in replay and "不用重复提交" in replay, replay
    assert len(requests_of(bot_stack, insured)) == 1


def test_a_deletion_request_asks_the_kind_then_is_filed(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(44)
    sender = new_sender("web")
    asked = identify(bot_stack, sender, "我要办个人信息的申请", insured, phone)
    assert "办理哪一项" in asked and "删除" in asked, asked
    read_back = texts(bot_stack.say(sender, "删除"))
    assert "申请删除" in read_back and "提交吗" in read_back, read_back
    no = texts(bot_stack.say(sender, "不是"))
    assert "没有提交" in no and requests_of(bot_stack, insured) == []
    bot_stack.say(sender, "删除我的个人信息")
    done = texts(bot_stack.say(sender, "是的"))
    [row] = requests_of(bot_stack, insured)
    assert f"编号 {row.request_no}" in done and "15个工作日" in done, done
    assert (row.kind, row.channel, row.status, row.user_channel) == (
        "deletion", "chat", "received", "web")
    # the person is still there: deleting is staff's step, after the request is worked
    assert requests_of(bot_stack, insured)[0].party_id == row.party_id


def test_a_correction_reads_back_what_is_wrong(bot_stack: BotStack) -> None:
    insured, _, phone = bot_stack.member(45)
    sender = new_sender("wechat")
    asked = identify(bot_stack, sender, "我的地址登记错了要改", insured, phone)
    assert "哪项信息登记有误" in asked, asked
    details = "地址登记成了东华村21号，应为东华村12号"
    read_back = texts(bot_stack.say(sender, details))
    assert "申请更正" in read_back and details in read_back, read_back
    done = texts(bot_stack.say(sender, "是"))
    [row] = requests_of(bot_stack, insured)
    assert row.request_no in done and (row.kind, row.details) == ("correction", details)
