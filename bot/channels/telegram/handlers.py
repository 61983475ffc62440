"""The Telegram callbacks: each turns an update into one engine call and sends the Reply back."""

from __future__ import annotations

import logging
import traceback
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram.render import (
    PARSE_MODE,
    Action,
    Press,
    area_keyboard,
    escape,
    menu_keyboard,
    parse_callback,
    reply_keyboard,
    split_text,
    without_feedback,
)
from bot.catalogue.model import MenuArea
from bot.engine import Engine, Reply
from bot.service.ratelimit import RateLimiter, Verdict

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
Context = ContextTypes.DEFAULT_TYPE
K = TypeVar("K", bound=Hashable)


class RecentKeys(Generic[K]):
    """The last `size` keys seen, so something Telegram (or a citizen's double tap) sends twice counts once."""

    def __init__(self, size: int = 4096) -> None:
        self._keys: OrderedDict[K, None] = OrderedDict()
        self._size = size

    def add(self, key: K) -> bool:
        """Remember key; False when it was already there."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


def without_token(text: str, token: str) -> str:
    """`text` with the bot token, and its secret half on its own, replaced by <token>."""
    secret = token.partition(":")[2]
    for part in (token, secret):
        if part:
            text = text.replace(part, "<token>")
    return text


def user_key(update: Update) -> str:
    """The engine's conversation key for the sender (the raw id never reaches labels or logs above DEBUG)."""
    user = update.effective_user
    return f"tg:{user.id}" if user else "tg:unknown"


def is_addressed(message: Message, bot_id: int, username: str) -> bool:
    """Private chats always; in groups only a reply to the bot or a message that mentions it."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    mention = f"@{username}".casefold()
    for entity, text in message.parse_entities([MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]).items():
        if text.casefold() == mention or (entity.user is not None and entity.user.id == bot_id):
            return True
    return False


def without_mention(text: str, username: str) -> str:
    """The question without the @bot mention that addressed it in a group."""
    mention = f"@{username}"
    start = text.casefold().find(mention.casefold())
    return text if start < 0 else (text[:start] + text[start + len(mention):]).strip()


async def acknowledge(query: CallbackQuery, toast: str | None = None) -> None:
    """Stop the client's spinner, with an optional toast.

    Telegram refuses a query older than about 15 seconds ("query is too old"), which a slow turn or
    a restart can make happen; the press is still answered, so that refusal only gets logged.
    """
    try:
        await query.answer(toast)
    except BadRequest as exc:
        logger.info("could not acknowledge a button press: %s", exc)


class TelegramChannel:
    """PTB callbacks bound to one engine and one rate limiter (no globals, nothing in bot_data)."""

    def __init__(self, engine: Engine, limiter: RateLimiter) -> None:
        self.engine = engine
        self.limiter = limiter
        self.rated: RecentKeys[tuple[str, int, int]] = RecentKeys()  # (user, chat, message) given 👍/👎

    def handlers(self) -> list[BaseHandler[Update, Context, None]]:
        """The handlers to register, in order: commands, text, other messages, buttons."""
        new = filters.UpdateType.MESSAGE
        return [
            CommandHandler("start", self.start, filters=new),
            CommandHandler("help", self.help, filters=new),
            CommandHandler("menu", self.menu, filters=new),
            CommandHandler("about", self.about, filters=new),
            MessageHandler(new & filters.TEXT & ~filters.COMMAND, self.text),
            MessageHandler(new & filters.COMMAND, self.unknown_command),
            MessageHandler(new & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.non_text),
            CallbackQueryHandler(self.button),
        ]

    async def start(self, update: Update, context: Context) -> None:
        """/start: the greeting, what the bot can answer, and the topic areas."""
        self.engine.offer(user_key(update), ())  # the topic areas are not intents a number could pick
        await self._fixed(update, context, "welcome", menu_keyboard(self.engine.catalogue))

    async def help(self, update: Update, context: Context) -> None:
        """/help: how to ask."""
        await self._fixed(update, context, "help")

    async def unknown_command(self, update: Update, context: Context) -> None:
        """A command we do not know, when addressed to us: how to ask."""
        await self._fixed(update, context, "help", is_command=False)

    async def menu(self, update: Update, context: Context) -> None:
        """/menu: the topic areas as buttons."""
        cat = self.engine.catalogue
        self.engine.offer(user_key(update), ())
        await self._fixed(update, context, "menu", menu_keyboard(cat))

    async def about(self, update: Update, context: Context) -> None:
        """/about: where the answers come from (the report's title and date)."""
        await self._fixed(update, context, "about")

    async def text(self, update: Update, context: Context) -> None:
        """A question: typing…, the engine's reply, its buttons."""
        message = update.effective_message
        if message is None or message.text is None or not await self._admitted(update, context):
            return
        await self._typing(update, context)
        key, text = user_key(update), without_mention(message.text, context.bot.username)
        reply = await self.engine.reply(key, text, CHANNEL)  # a bare "2" picks the second button
        await self._answer(update, context, reply)

    async def non_text(self, update: Update, context: Context) -> None:
        """Photos, voice, stickers, files, locations…: a friendly note that only text is understood."""
        await self._fixed(update, context, "non_text", is_command=False)

    async def button(self, update: Update, context: Context) -> None:
        """A tapped inline button: answer an intent, open a topic area, or record 👍/👎."""
        query = update.callback_query
        if query is None:
            return
        if self.limiter.check(user_key(update)) is not Verdict.ALLOW:
            await acknowledge(query, self.engine.catalogue.messages["rate_limited"])
            return
        press = parse_callback(query.data)
        cat = self.engine.catalogue
        area = cat.menu.area(press.target) if press is not None and press.action is Action.AREA else None
        if press is not None and press.action is Action.FEEDBACK and press.target in cat.intents:
            await self._feedback(update, press)
        elif area is not None:
            await self._area(update, context, area)
        else:
            # Unknown, retired or forged data all land here; the engine answers "stale button".
            await acknowledge(query)
            chosen = press.target if press is not None and press.action is Action.INTENT else ""
            await self._answer(update, context, self.engine.choose(user_key(update), chosen, CHANNEL))

    async def _feedback(self, update: Update, press: Press) -> None:
        """Record 👍/👎 once per answer, thank the citizen in a toast, and drop the feedback row.

        A double tap sends two presses before the row disappears; the second is only thanked.
        """
        query = update.callback_query
        assert query is not None
        message = query.message
        rated = (user_key(update), message.chat.id, message.message_id) if message is not None else None
        if rated is not None and not self.rated.add(rated):
            await acknowledge(query, self.engine.catalogue.messages["feedback_thanks"])
            return
        thanks = self.engine.feedback(user_key(update), press.target, press.is_helpful, CHANNEL)
        await acknowledge(query, thanks)
        if isinstance(message, Message) and message.reply_markup is not None:
            try:
                await query.edit_message_reply_markup(without_feedback(message.reply_markup))
            except BadRequest as exc:  # "message is not modified", or too old to edit: the vote counts anyway
                logger.info("could not remove the feedback buttons: %s", exc)

    async def _area(self, update: Update, context: Context, area: MenuArea) -> None:
        """The intents of one topic area, as buttons."""
        assert update.callback_query is not None
        await acknowledge(update.callback_query)
        cat = self.engine.catalogue
        keyboard = area_keyboard(cat, area)
        self.engine.offer(user_key(update), tuple(i for i in area.intents if i in cat.intents))
        messages = cat.messages
        text = messages["menu_area"].format(title=area.title) if keyboard else messages["stale_button"]
        await self.send(update, context, text, keyboard)

    async def on_error(self, update: object, context: Context) -> None:
        """Log the failure (token redacted) and ask the citizen to try again."""
        error = context.error
        if error is None:
            return
        details = without_token("".join(traceback.format_exception(error)), context.bot.token)
        logger.error("handling an update failed: %s", details)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id,
                                               escape(self.engine.catalogue.messages["error"]),
                                               parse_mode=PARSE_MODE)
            except TelegramError as exc:
                logger.warning("could not tell the citizen about the failure: %s",
                               without_token(str(exc), context.bot.token))

    async def _answer(self, update: Update, context: Context, reply: Reply) -> None:
        await self.send(update, context, reply.text, reply_keyboard(reply))

    async def send(self, update: Update, context: Context, text: str,
                   keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send text in chunks Telegram accepts, escaped for HTML; buttons go on the last chunk."""
        chat = update.effective_chat
        if chat is None:
            return
        trigger = update.message
        quote = (ReplyParameters(trigger.message_id, allow_sending_without_reply=True)
                 if trigger is not None and chat.type != ChatType.PRIVATE else None)
        chunks = [c for c in split_text(text) if c]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            await context.bot.send_message(chat.id, escape(chunk), parse_mode=PARSE_MODE,
                                           reply_markup=keyboard if last else None,
                                           reply_parameters=quote if n == 0 else None)

    async def _fixed(self, update: Update, context: Context, key: str,
                     keyboard: InlineKeyboardMarkup | None = None, *,
                     is_command: bool = True) -> None:
        if not await self._admitted(update, context, is_command=is_command):
            return
        await self.send(update, context, self.engine.catalogue.messages[key], keyboard)

    async def _admitted(self, update: Update, context: Context, *, is_command: bool = False) -> bool:
        """Addressed to the bot and within the sender's rate limit; a flood gets one notice.

        PTB's CommandHandler already checks that a group command is for us (/start@this_bot).
        """
        message = update.effective_message
        if message is None:
            return False
        if not is_command and not is_addressed(message, context.bot.id, context.bot.username):
            return False
        verdict = self.limiter.check(user_key(update))
        if verdict is Verdict.NOTIFY:
            await self.send(update, context, self.engine.catalogue.messages["rate_limited"])
        return verdict is Verdict.ALLOW

    async def _typing(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        try:
            await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
        except TelegramError as exc:  # the answer matters more than the indicator
            logger.warning("could not show typing: %s", without_token(str(exc), context.bot.token))
