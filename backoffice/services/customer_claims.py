"""The identified customer's own steps on their claim through a channel: withdrawal (撤案) and
the payout bank account (收款账户). Who the customer is comes from the channel user's binding;
a claim is theirs as its insured or its reporter (as for appeals). Another's claim is a 404,
the same answer as a claim that does not exist.

Both steps are replay-safe: the same request again (a retried turn, two confirmations at once)
finds the step done and answers as before without a second step. The claim's row is written
first, so two requests at once queue on it (SQLite's write lock, PostgreSQL's row lock).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.domain import claim as cl
from backoffice.domain.errors import Conflict, NotFound, ValidationError
from backoffice.domain.identity import mask_bank_card, parse_bank_card
from backoffice.services import appeals, bindings
from backoffice.services import claims as claims_service
from backoffice.services.commands import Command, OneOf, Reference, RowId, Text, takes
from backoffice.store.db import Database
from backoffice.store.models import ClaimDocument, ClaimRow

CHANNEL_NAMES = {"wechat": "微信", "web": "网页", "ivr": "电话", "sms": "短信"}


class CustomerClaimStep(Command):
    """The channel user (their binding says who they are) and their claim."""

    channel: OneOf(bindings.CHANNELS)
    user: Text(128, blank_ok=False)
    claim_no: Reference


class CustomerWithdrawal(CustomerClaimStep):
    reason: Text(500) = None  # the customer's words, if any


class CustomerBankAccount(CustomerClaimStep):
    """Either the number the customer typed (`account`) or a bank card photo of the claim read
    by OCR (`document_id`); the customer confirmed it in the conversation."""

    account: Text(40) = None
    document_id: RowId | None = None


def _own_claim(s: Session, cmd: CustomerClaimStep) -> ClaimRow:
    appeals.lock_claim(s, cmd.claim_no)
    row = claims_service.load_claim(s, cmd.claim_no, lock=True)
    appeals.check_owner(s, row, cmd.channel, cmd.user)
    return row


def _answer(row: ClaimRow, text: str, replay: bool) -> dict[str, Any]:
    return {"claim_no": row.claim_no, "status": row.status,
            "status_name": cl.STAGE_NAMES.get(row.status, row.status),
            "bank_account": mask_bank_card(row.bank_account) if row.bank_account else None,
            "replay": replay, "text": text}


# ---- withdrawal (撤案) -------------------------------------------------------------------------

@takes(CustomerWithdrawal)
def withdraw(db: Database, cmd: CustomerWithdrawal, actor: str = "customer") -> dict[str, Any]:
    """The customer withdraws their open claim; already withdrawn → the same answer again."""
    with db.transaction() as s:
        row = _own_claim(s, cmd)
        if row.status == cl.WITHDRAWN:
            return _answer(row, f"报案号 {row.claim_no} 已撤案，无需再次办理。", replay=True)
        if "withdraw" not in cl.allowed_actions(row.status):
            raise Conflict(_not_withdrawable(row), "claim_no")
        where = CHANNEL_NAMES.get(cmd.channel, cmd.channel)
        note = f"客户经{where}申请撤案" + (f"：{cmd.reason}" if cmd.reason else "")
        claims_service.withdraw_step(s, row, note, actor)
        s.flush()
        return _answer(row, f"报案号 {row.claim_no} 已撤案。如需再次理赔，可以重新报案。",
                       replay=False)


def _not_withdrawable(row: ClaimRow) -> str:
    stage = cl.STAGE_NAMES.get(row.status, row.status)
    if row.status in (cl.APPROVED, cl.PAID):
        why = "赔付已审批，不能再撤案"
    elif row.status == cl.REJECTED:
        why = "案件已有拒赔决定，不需要撤案；如有异议可以申请复核"
    else:
        why = "案件已结束，不能撤案"
    return f"报案号 {row.claim_no} 当前{stage}：{why}。如有疑问请说“转人工”。"


# ---- the payout bank account (收款账户) --------------------------------------------------------

@takes(CustomerBankAccount)
def set_bank_account(db: Database, cmd: CustomerBankAccount, actor: str = "customer"
                     ) -> dict[str, Any]:
    """The customer's own confirmed account: the payee's declaration (a change of a verified
    account stays with two staff members). The same account again changes nothing."""
    if (cmd.account is None) == (cmd.document_id is None):
        raise ValidationError("account", "须提供银行卡号（account）或银行卡照片（document_id）之一")
    account = parse_bank_card(cmd.account, "account") if cmd.account else None
    with db.transaction() as s:
        row = _own_claim(s, cmd)
        if account is None:
            account = _card_of_document(s, row, int(cmd.document_id or 0))
        if row.bank_account == account:
            return _answer(row, f"收款账户已是 {mask_bank_card(account)}，无需修改。",
                           replay=True)
        if row.status not in cl.OPEN or row.status == cl.PAID:
            stage = cl.STAGE_NAMES.get(row.status, row.status)
            raise Conflict(f"报案号 {row.claim_no} 当前{stage}，不能再设置收款账户。", "claim_no")
        if row.bank_account is not None:
            raise Conflict(f"报案号 {row.claim_no} 已有核实的收款账户 "
                           f"{mask_bank_card(row.bank_account)}；更换账户须由工作人员核实办理，"
                           "请说“转人工”。", "account")
        claims_service.bank_account_step(s, row, account, actor)
        s.flush()
        return _answer(row, f"收款账户已设为 {mask_bank_card(account)}，赔款将转入这个账户。",
                       replay=False)


def _card_of_document(s: Session, row: ClaimRow, document_id: int) -> str:
    """The card number OCR read on a bank card photo of this claim."""
    doc = s.execute(select(ClaimDocument).where(
        ClaimDocument.id == document_id, ClaimDocument.claim_id == row.id)).scalar()
    if doc is None:
        raise NotFound(f"报案号 {row.claim_no} 没有这份材料", "document_id")
    raw = ((doc.fields or {}).get("card_number") or {}).get("value")
    if not raw:
        raise ValidationError("document_id", "这份材料上没有识别出银行卡号，请直接发送卡号")
    try:
        return parse_bank_card(str(raw), "document_id")
    except ValidationError:
        raise ValidationError("document_id",
                              "照片上识别的卡号校验不通过，请直接发送卡号") from None

