"""The terminal channel of `legalbot chat`: a line in, the reply as text with numbered buttons out; /menu shows the topic menu."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from bot.catalogue.model import MenuArea
from bot.engine import Engine, Reply

# What a citizen types to see the topic menu, as Telegram's /menu button; 菜单 is what they would type.
MENU_COMMANDS = frozenset({"/menu", "/start", "菜单"})
USER = "terminal"


@dataclass(slots=True)
class TerminalChat:
    """One terminal conversation. After the menu a number opens that area; after an area or an
    answer a number presses that button (the engine keeps those)."""

    engine: Engine
    debug: bool = False
    user: str = USER
    _areas: tuple[MenuArea, ...] = field(default=(), init=False)

    def handle(self, line: str) -> str:
        """The text to print for one line typed."""
        text = line.strip()
        if text.lower() in MENU_COMMANDS:
            return self._menu()
        number = unicodedata.normalize("NFKC", text).rstrip(".。、)")
        if self._areas and number.isdecimal() and len(number) <= 2:
            areas, self._areas = self._areas, ()
            if 1 <= int(number) <= len(areas):
                return self._area(areas[int(number) - 1])
            self._areas = areas  # still on the menu: another number may follow
            return self.engine.catalogue.messages["no_such_number"].format(number=number, count=len(areas)).strip()
        self._areas = ()
        return render(self.engine.respond(self.user, line, channel="terminal"), self.debug)

    def _menu(self) -> str:
        cat = self.engine.catalogue
        self._areas = cat.menu.areas
        self.engine.offer(self.user, ())  # numbers now pick areas, not the buttons of the last answer
        if not self._areas:
            return cat.messages["help"].strip()
        lines = [cat.messages["menu"].strip()] + [f"  [{n}] {a.title}" for n, a in enumerate(self._areas, 1)]
        return "\n".join(lines)

    def _area(self, area: MenuArea) -> str:
        cat = self.engine.catalogue
        intents = tuple(i for i in area.intents if i in cat.intents)
        self.engine.offer(self.user, intents)  # "3" then opens the third, through the engine
        lines = [cat.messages["menu_area"].format(title=area.title).strip()]
        lines += [f"  [{n}] {cat.title(i)}" for n, i in enumerate(intents, 1)]
        return "\n".join(lines)


def render(reply: Reply, debug: bool = False) -> str:
    """A reply as the terminal shows it: its text, then each button as `[n] title`."""
    lines = [reply.text]
    lines += [f"  [{n}] {button.title}" for n, button in enumerate(reply.buttons, 1)]
    if debug:
        ranked = ", ".join(f"{c.intent}:{c.score:.2f}" for c in reply.candidates[:3])
        runner = f"{reply.runner_up.intent}:{reply.runner_up.score:.2f}" if reply.runner_up else "-"
        lines.append(f"  (intent={reply.intent} confidence={reply.confidence:.2f} outcome={reply.outcome.value} "
                     f"runner_up={runner} candidates={ranked})")
    return "\n".join(lines)
