"""The electronic policy document (电子保单): an HTML page a person can open and print."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from backoffice.domain.endorsement import KIND_NAMES
from backoffice.domain.rating import PAYMENT_MODE_NAMES

_env = Environment(
    loader=PackageLoader("backoffice.views", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
RELATION_NAMES = {"self": "本人", "spouse": "配偶", "child": "子女", "parent": "父母",
                  "sibling": "兄弟姐妹", "other": "其他"}
GENDER_NAMES = {"male": "男", "female": "女"}


def render_policy_document(policy: dict[str, Any]) -> str:
    return _env.get_template("policy_document.html").render(
        p=policy, relation_names=RELATION_NAMES, gender_names=GENDER_NAMES,
        mode_names=PAYMENT_MODE_NAMES, kind_names=KIND_NAMES,
    )
