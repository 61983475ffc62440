"""The web page's starting buttons: the topic areas of the catalogue's menu (Telegram's /menu)."""

from __future__ import annotations

from typing import Any

from bot.catalogue.loader import Catalogue


def starting_menu(catalogue: Catalogue) -> dict[str, Any]:
    """GET /api/menu: the greeting, and each topic area with its title and its intents' buttons.

    The areas are the ones Telegram's /menu shows. Until the menu moves into the catalogue they are
    read from the Telegram channel's table, the one place they are written; this function is the
    only place that knows where they come from.
    """
    from bot.channels.telegram.render import areas_in

    messages = catalogue.messages
    return {
        "welcome": messages["welcome"].strip(),
        "menu": messages["menu"].strip(),
        "areas": [
            {"key": area.key, "title": area.title, "text": messages["menu_area"].format(title=area.title).strip(),
             "buttons": [{"title": catalogue.title(i), "intent": i} for i in area.intents if i in catalogue.intents]}
            for area in areas_in(catalogue)
        ],
    }
