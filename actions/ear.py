"""The phone's wording (pure): what a caller hears instead of what a screen shows.

A caller cannot see a masked number, tap a link or send a photo: numbers are read back whole
in the groups people say them in (a mobile 3-4-4, an ID number 6-8-4: area, birth date,
sequence), and documents go by WeChat, post, an outlet, or a home visit.
"""

from __future__ import annotations

# slots that hold a number: on the phone the keypad is offered after two failed answers
DIGIT_SLOTS = frozenset({"id_number", "identity_proof", "id_last6", "insured_id_number",
                         "contact_phone", "complainant_phone", "visit_phone", "new_phone"})
# what a caller is told instead of "拍照发给我"
DOCUMENTS_BY_EAR = ("材料可以通过微信公众号“小保”发送，也可以邮寄或送到服务网点；"
                    "行动不便的老人可以预约上门收取，说“预约上门”即可。材料清单会用短信发给您。")


def grouped_phone(phone: str) -> str:
    """"13812345678" → "138 1234 5678"."""
    return f"{phone[:3]} {phone[3:7]} {phone[7:]}" if len(phone) == 11 else phone


def grouped_id(id_number: str) -> str:
    """An 18-character ID number as 6-8-4: "440515 19480312 0023"."""
    if len(id_number) != 18:
        return id_number
    return f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}"
