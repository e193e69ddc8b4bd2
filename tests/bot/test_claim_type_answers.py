"""The claim type in the incident report, against the real bot and back office: read back in
plain words, changed by the user at the read-back, asked with the covered types when the words
do not decide it. The claim's type in the back office is checked afterwards."""

from __future__ import annotations

from tests.bot.test_slot_answers import claim_of, drive, last_line, texts
from tests.bot_stack import BotStack, new_sender

TYPE_QUESTION = "是哪种情况"


def test_the_type_read_back_and_changed_there(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(30)
    sender = new_sender("wechat")
    first = bot_stack.say(sender, "我妈在家里摔倒了，要报案")
    replies = drive(bot_stack, sender, first, {
        "本人，还是您的家人": ["我妈"],
        "身份证": [insured],
        "哪天": ["昨天"],
        "什么地方": ["家里"],
        "经过": ["下楼梯踩空摔倒"],
        "伤得怎么样": ["腰摔伤了"],
        "医院": ["潮南区人民医院"],
        "怎么称呼": ["李丽"],
        "手机号码": ["13900002222"],
    }, until="信息对吗")
    said = texts(replies)
    assert "理赔类型：住院津贴" in said, said
    assert TYPE_QUESTION not in said  # the hospital decided it: nothing asked

    changed = texts(bot_stack.say(sender, "不是住院，是伤残"))
    assert "理赔类型：意外伤残" in changed and "信息对吗" in changed, changed
    # a correction of something else keeps the changed type
    again = texts(bot_stack.say(sender, "不对，是前天"))
    assert "理赔类型：意外伤残" in again and "信息对吗" in again, again
    done = texts(bot_stack.say(sender, "对"))
    assert "报案成功" in done, done
    claim = claim_of(bot_stack, done)
    assert claim.claim_type == "disability"
    # the documents listed are the disability claim's, not the hospital stay's
    assert "伤残鉴定" in done and "出院小结" not in done, done


def test_no_stay_is_asked_not_guessed_and_never_medical(bot_stack: BotStack) -> None:
    insured, _, _ = bot_stack.member(31)
    sender = new_sender("web")
    first = bot_stack.say(sender, "我爸摔倒了，我要报案")
    replies = drive(bot_stack, sender, first, {
        "本人，还是您的家人": ["我爸"],
        "身份证": [insured],
        "哪天": ["前天"],
        "什么地方": ["菜市场门口"],
        "经过": ["地上湿滑摔了一跤"],
        "伤得怎么样": ["没住院，摔断了手"],
        "医院": ["镇卫生院"],
    }, until=TYPE_QUESTION)
    asked = replies[-1]
    titles = [b.get("title") for b in asked.get("buttons") or []]
    # the scheme's types as the options; medical expenses are not among them
    assert set(titles) == {"意外身故", "公共交通意外身故", "意外伤残", "住院津贴"}, asked
    assert "住院" in str(asked.get("text")) and "伤残" in str(asked.get("text"))

    # an answer naming no type, or a type the scheme does not pay, is asked again
    for odd in ("不知道", "报医药费"):
        again = bot_stack.say(sender, odd)
        assert TYPE_QUESTION in last_line(again), texts(again)
    replies = drive(bot_stack, sender, bot_stack.say(sender, "可能会落下残疾"), {
        "怎么称呼": ["王强"],
        "手机号码": ["13900003333"],
    }, until="信息对吗")
    said = texts(replies)
    assert "理赔类型：意外伤残" in said, said

    # "类型不对" at the read-back asks the type again, with the options
    asked_again = bot_stack.say(sender, "类型不对")
    assert TYPE_QUESTION in texts(asked_again), texts(asked_again)
    back = texts(bot_stack.say(sender, "住院津贴"))
    assert "理赔类型：住院津贴" in back and "信息对吗" in back, back
    done = texts(bot_stack.say(sender, "对"))
    assert "报案成功" in done, done
    assert claim_of(bot_stack, done).claim_type == "hospital_allowance"
