"""Intent roles: read from `roles:` in intents/*.yaml, passed on to finer intents, checked."""

from __future__ import annotations

from collections.abc import Mapping

from bot.catalogue.collector import Collector, did_you_mean, string_list
from bot.catalogue.model import NOT_INHERITED, Intent, Role
from bot.catalogue.yamlfile import LineDict

ROLE_NAMES = tuple(role.value for role in Role)


def read_roles(c: Collector, src: str, item: LineDict, label: str) -> frozenset[Role]:
    """The roles an intent lists; an unknown name is an error at its line."""
    roles = set()
    for name, line in string_list(c, src, item, "roles", label):
        if name in ROLE_NAMES:
            roles.add(Role(name))
        else:
            known = "、".join(ROLE_NAMES)
            c.error(src, line, f"{label}的 roles 里有未知的角色 '{name}'；可用的有：{known}{did_you_mean(name, ROLE_NAMES)}")
    return frozenset(roles)


def with_topic_roles(own: Mapping[str, frozenset[Role]]) -> dict[str, frozenset[Role]]:
    """Each intent's roles plus those of the intents above it (legal_aid.apply gets legal_aid's)."""
    out: dict[str, frozenset[Role]] = {}
    for intent_id in sorted(own, key=lambda i: i.count(".")):
        parent = intent_id.rsplit(".", 1)[0] if "." in intent_id else None
        inherited = out.get(parent, frozenset()) - NOT_INHERITED if parent else frozenset()
        out[intent_id] = own[intent_id] | inherited
    return out


def check_welcome(c: Collector, intents: Mapping[str, Intent]) -> None:
    """At most one intent welcomes a citizen who first arrives."""
    welcoming = [intent for intent in intents.values() if Role.WELCOME in intent.roles]
    for extra in welcoming[1:]:
        first = welcoming[0]
        c.error(extra.source.path, extra.source.line,
                f"角色 '{Role.WELCOME}' 只能给一个意图；'{first.id}'（{first.source}）已经有了，请从 '{extra.id}' 去掉")
