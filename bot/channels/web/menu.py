"""The web page's starting buttons: the topic areas of the catalogue's menu (intents/menu.yaml)."""

from __future__ import annotations

from typing import Any

from bot.catalogue.loader import Catalogue


def starting_menu(catalogue: Catalogue) -> dict[str, Any]:
    """GET /api/menu: the greeting, and each area of the catalogue's menu (Telegram's /menu) with its
    intents' buttons, titled as the catalogue titles them."""
    messages = catalogue.messages
    return {
        "welcome": messages["welcome"].strip(),
        "menu": messages["menu"].strip(),
        "areas": [
            {"key": area.key, "title": area.title, "text": messages["menu_area"].format(title=area.title).strip(),
             "buttons": [{"title": catalogue.title(i), "intent": i} for i in area.intents if i in catalogue.intents]}
            for area in catalogue.menu.areas
        ],
    }
