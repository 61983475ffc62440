"""The Telegram callbacks: each turns an update into one engine call and sends the Reply back."""

from __future__ import annotations

import functools
import logging
import traceback
from contextvars import ContextVar
from dataclasses import replace

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType
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
from bot.service.delivery import Delivery, DeliveryPolicy, Exchange, Undelivered
from bot.service.ratelimit import RateLimiter, Verdict

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
Context = ContextTypes.DEFAULT_TYPE
# The sends answering the update being handled. Each update runs in its own task (or, in tests, one
# process_update call) and the error handler runs in the same one, so it sees what was sent.
_EXCHANGE: ContextVar[Exchange | None] = ContextVar("telegram_exchange", default=None)


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


def side_policy(policy: DeliveryPolicy) -> DeliveryPolicy:
    """Toasts and button edits: retried for at most 10 s (Telegram forgets a press after about 15)."""
    return replace(policy, deadline=min(policy.deadline, 10.0))


def typing_policy(policy: DeliveryPolicy) -> DeliveryPolicy:
    """The typing indicator: one retry at most, and a give-up is only worth INFO."""
    return replace(policy, max_attempts=2, deadline=min(policy.deadline, 2.0), give_up_level=logging.INFO)


async def acknowledge(delivery: Delivery, query: CallbackQuery, toast: str | None = None) -> None:
    """Stop the client's spinner, with an optional toast.

    Telegram refuses a query older than about 15 seconds ("query is too old"), which a slow turn or
    a restart can make happen; the press is still answered, so a failure here is only logged.
    """
    try:
        await delivery.deliver(lambda: query.answer(toast), what="answerCallbackQuery",
                               policy=side_policy(delivery.policy))
    except Undelivered:
        pass  # logged once by the delivery policy


class TelegramChannel:
    """PTB callbacks bound to one engine and one rate limiter (no globals, nothing in bot_data)."""

    def __init__(self, engine: Engine, limiter: RateLimiter, delivery: Delivery) -> None:
        self.engine = engine
        self.limiter = limiter
        self.delivery = delivery

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

    async def begin(self, update: Update, context: Context) -> None:
        """Before any other handler (group -1): a fresh record of what this update's sends did."""
        _EXCHANGE.set(Exchange())

    async def start(self, update: Update, context: Context) -> None:
        """/start: the greeting, what the bot can answer, and the topic areas."""
        async with self.engine.turn(user_key(update)):
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
        async with self.engine.turn(user_key(update)):
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
        # The turn is held until the answer is sent (retries too), so the user's next message, on
        # any replica, is answered after this one.
        async with self.engine.turn(key):
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
        if await self.limiter.admit(user_key(update), CHANNEL) is not Verdict.ALLOW:
            await acknowledge(self.delivery, query, self.engine.catalogue.messages["rate_limited"])
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
            await acknowledge(self.delivery, query)
            chosen = press.target if press is not None and press.action is Action.INTENT else ""
            async with self.engine.turn(user_key(update)):
                await self._answer(update, context, self.engine.choose(user_key(update), chosen, CHANNEL))

    async def _feedback(self, update: Update, press: Press) -> None:
        """Record 👍/👎 once per answer, thank the citizen in a toast, and drop the feedback row.

        A double tap sends two presses before the row disappears; the second is only thanked.
        """
        query = update.callback_query
        assert query is not None
        message = query.message
        rated = f"{user_key(update)}:{message.chat.id}:{message.message_id}" if message is not None else None
        if rated is not None and not await self.engine.conversations.claim("tg-rated", rated):
            await acknowledge(self.delivery, query, self.engine.catalogue.messages["feedback_thanks"])
            return
        thanks = self.engine.feedback(user_key(update), press.target, press.is_helpful, CHANNEL)
        await acknowledge(self.delivery, query, thanks)
        if isinstance(message, Message) and message.reply_markup is not None:
            markup = without_feedback(message.reply_markup)
            try:
                await self.delivery.deliver(lambda: query.edit_message_reply_markup(markup),
                                            what="editMessageReplyMarkup", policy=side_policy(self.delivery.policy))
            except Undelivered:  # "message is not modified", or too old to edit: the vote counts anyway
                pass

    async def _area(self, update: Update, context: Context, area: MenuArea) -> None:
        """The intents of one topic area, as buttons."""
        assert update.callback_query is not None
        await acknowledge(self.delivery, update.callback_query)
        cat = self.engine.catalogue
        keyboard = area_keyboard(cat, area)
        async with self.engine.turn(user_key(update)):
            self.engine.offer(user_key(update), tuple(i for i in area.intents if i in cat.intents))
        messages = cat.messages
        text = messages["menu_area"].format(title=area.title) if keyboard else messages["stale_button"]
        await self.send(update, context, text, keyboard)

    async def on_error(self, update: object, context: Context) -> None:
        """Log the failure (token redacted) and ask the citizen to try again, unless an answer may have gone out.

        A send the delivery policy gave up on was logged there; no apology follows it, since Telegram
        kept failing for this chat or refused it, except for a request Telegram found malformed.
        """
        error = context.error
        if error is None:
            return
        if isinstance(error, Undelivered):
            apologise = error.failure.cause == "bad_request"
        else:
            details = without_token("".join(traceback.format_exception(error)), context.bot.token)
            logger.error("handling an update failed: %s", details)
            apologise = True
        exchange = _EXCHANGE.get()
        if exchange is not None and exchange.maybe_delivered:
            return  # an answer may have reached the citizen; "please try again" after it would confuse
        chat = update.effective_chat if isinstance(update, Update) else None
        if apologise and chat is not None:
            text = escape(self.engine.catalogue.messages["error"])
            try:
                await self.delivery.deliver(lambda: context.bot.send_message(chat.id, text, parse_mode=PARSE_MODE),
                                            what="sendMessage")
            except Undelivered:
                pass  # logged once by the delivery policy

    async def _answer(self, update: Update, context: Context, reply: Reply) -> None:
        await self.send(update, context, reply.text, reply_keyboard(reply))

    async def send(self, update: Update, context: Context, text: str,
                   keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send text in chunks Telegram accepts, escaped for HTML; buttons go on the last chunk.

        Each chunk goes through the delivery policy, in order; Undelivered when one is given up on.
        """
        chat = update.effective_chat
        if chat is None:
            return
        trigger = update.message
        quote = (ReplyParameters(trigger.message_id, allow_sending_without_reply=True)
                 if trigger is not None and chat.type != ChatType.PRIVATE else None)
        chunks = [c for c in split_text(text) if c]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            send = functools.partial(context.bot.send_message, chat.id, escape(chunk), parse_mode=PARSE_MODE,
                                     reply_markup=keyboard if last else None,
                                     reply_parameters=quote if n == 0 else None)
            await self.delivery.deliver(send, what="sendMessage", exchange=_EXCHANGE.get())

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
        verdict = await self.limiter.admit(user_key(update), CHANNEL)
        if verdict is Verdict.NOTIFY:
            await self.send(update, context, self.engine.catalogue.messages["rate_limited"])
        return verdict is Verdict.ALLOW

    async def _typing(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        try:
            await self.delivery.deliver(lambda: context.bot.send_chat_action(chat.id, ChatAction.TYPING),
                                        what="sendChatAction", policy=typing_policy(self.delivery.policy))
        except Undelivered:  # the answer matters more than the indicator
            pass
