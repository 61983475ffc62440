"""Telegram updates and users as the Bot API describes them, built for tests to push."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Mapping
from typing import Any

from bot.checks.telegram_markup import utf16_len


class UpdateFactory:
    """Builds well-formed users, chats, messages and updates; ids count up per factory."""

    def __init__(self, bot_id: int, username: str) -> None:
        self.bot_id = bot_id
        self.username = username
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as getMe describes it."""
        return {"id": self.bot_id, "is_bot": True, "first_name": "江山法律服务", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def user(self, user_id: int) -> dict[str, Any]:
        """A citizen's User object."""
        return {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}", "language_code": "zh-hans"}

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        """A Chat object; negative ids are groups."""
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"用户{chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": "测试群"}

    def text_update(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private",
                    reply_to: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A message update; /commands and @mentions get the entities a client would add."""
        message = self._message_from(user_id, chat_id, chat_type)
        message["text"] = text
        entities = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        for found in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
            entities.append({"type": "mention", "offset": utf16_len(text[:found.start()]),
                             "length": utf16_len(found.group(0))})
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
        return {"message": message}

    def media_update(self, user_id: int, kind: str, *, chat_id: int | None = None,
                     chat_type: str = "private") -> dict[str, Any]:
        """A non-text message: photo, voice, sticker, document or location."""
        file = {"file_id": f"{kind}-file", "file_unique_id": f"{kind}-unique"}
        payloads: dict[str, Any] = {
            "photo": [{**file, "width": 90, "height": 90}],
            "voice": {**file, "duration": 3},
            "sticker": {**file, "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False},
            "document": {**file, "file_name": "材料.pdf"},
            "location": {"latitude": 28.74, "longitude": 118.62},
        }
        message = self._message_from(user_id, chat_id, chat_type)
        message[kind] = payloads[kind]
        return {"message": message}

    def callback_update(self, user_id: int, message: Mapping[str, Any], data: str) -> dict[str, Any]:
        """A tap on an inline button of `message` (a message the bot sent)."""
        return {"callback_query": {"id": f"cq{next(self._ids)}", "from": self.user(user_id),
                                   "chat_instance": "fake-chat-instance", "message": dict(message), "data": data}}

    def _message_from(self, user_id: int, chat_id: int | None, chat_type: str) -> dict[str, Any]:
        chat = self.chat(user_id if chat_id is None else chat_id, chat_type)
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self.user(user_id)}
