"""The `legalbot` command: chat, ask, validate, check, eval, tune, test, telegram, serve, report."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot.channels.terminal import TerminalChat, render
from bot.config import Settings
from bot.engine import Engine, Reply
from bot.errors import BotError, CatalogueError, ConfigError

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--intents", type=Path, help="intent files folder (default: $LEGALBOT_INTENTS or ./intents)")
    common.add_argument("--content", type=Path, help="answers folder (default: $LEGALBOT_CONTENT or ./content)")
    common.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")

    parser = argparse.ArgumentParser(prog="legalbot", description="江山市公共法律服务问答机器人")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", parents=[common], help="talk to the bot in the terminal")
    chat.add_argument("--debug", action="store_true", help="show intent, confidence and runner-ups")

    ask = sub.add_parser("ask", parents=[common], help="answer one question, or one per stdin line with --jsonl")
    ask.add_argument("text", nargs="?", help="the question")
    ask.add_argument("--json", action="store_true", help="print the reply object as JSON")
    ask.add_argument("--jsonl", action="store_true", help="read stdin, one message a line; write one reply object a line")

    validate = sub.add_parser("validate", parents=[common], help="check intents/ and content/ for problems")
    validate.add_argument("--no-warnings", action="store_true", help="print errors only")

    ev = sub.add_parser("eval", parents=[common], help="score evaluation sets")
    ev.add_argument("files", nargs="+", type=Path)
    ev.add_argument("--min-accuracy", type=float, help="fail below this answer accuracy (0-1)")
    ev.add_argument("--min-useful", type=float, help="fail below this useful rate (0-1)")
    ev.add_argument("--max-wrong", type=float, help="fail above this wrong-answer rate (0-1)")
    ev.add_argument("--max-false-accept", type=float, help="fail above this false-accept rate (0-1)")
    ev.add_argument("--min-emergency-recall", type=float, help="fail below this emergency recall (0-1)")
    ev.add_argument("--failures", action="store_true", help="list every case not answered right")
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")

    check = sub.add_parser("check", parents=[common],
                           help="validate, then compare the evaluation sets and conversation tests with the last commit")
    check.add_argument("files", nargs="*", type=Path, help="evaluation sets (default: tests/eval/*.yml)")

    tune = sub.add_parser("tune", parents=[common],
                          help="fit answer_threshold, clarify_threshold and the gaps on evaluation sets")
    tune.add_argument("files", nargs="+", type=Path, help="evaluation sets to fit on")
    tune.add_argument("--holdout", action="append", type=Path, default=[],
                      help="an evaluation set scored with the fitted values but not fitted on (repeatable)")
    tune.add_argument("--guard", action="append", type=Path, default=[],
                      help="an evaluation set whose emergency recall may not drop (repeatable), e.g. tests/eval/safety.yml")
    tune.add_argument("--max-wrong", type=float, default=0.01,
                      help="the most wrong answers plus false accepts allowed, as a share of the cases (default 0.01)")
    tune.add_argument("--write", action="store_true", help="write the fitted values into matcher.yaml")

    test = sub.add_parser("test", parents=[common], help="run conversation tests (default: tests/conversations)")
    test.add_argument("paths", nargs="*", type=Path)
    # The channels' names (bot.checks.conversation_runner.CHANNELS) are checked in main(): importing
    # the conversation tests here would slow every command's start.
    test.add_argument("--channel", default="engine", help="engine, telegram, http or wechat")

    sub.add_parser("telegram", parents=[common], help="run the Telegram bot with long polling")

    serve = sub.add_parser("serve", parents=[common], help="run the HTTP API (and the Telegram webhook)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)

    report = sub.add_parser("report", parents=[common], help="what citizens asked: totals, gaps, feedback")
    report.add_argument("--days", type=int, default=30, help="period in days, counted back from now")
    report.add_argument("--html", type=Path, help="also write a self-contained HTML page")
    return parser


def _settings(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    settings = Settings.from_env(environ)
    if args.intents:
        settings = replace(settings, intents_dir=args.intents)
    if args.content:
        settings = replace(settings, content_dir=args.content)
    return settings


def _engine(settings: Settings) -> Engine:
    from bot.catalogue.cache import catalogue_loader

    return Engine.from_paths(settings.intents_dir, settings.content_dir, loader=catalogue_loader(settings))


def _show(reply: Reply, out: TextIO, debug: bool) -> None:
    out.write(render(reply, debug) + "\n")


def _chat(engine: Engine, debug: bool) -> int:
    # A plain loop: the engine answers synchronously, and Ctrl-C must end the chat at once, wherever
    # it lands (input() in a worker thread would keep asyncio.run waiting for the next Enter).
    chat = TerminalChat(engine, debug)
    try:
        print("江山公共法律服务问答。直接输入问题；输入 /menu 或“菜单”看能问什么；输入按钮前的数字可以点选；输入 q 退出。",
              flush=True)
        while True:
            line = input("> ")
            if line.strip().lower() in {"q", "quit", "exit"}:
                return 0
            print(chat.handle(line), flush=True)  # "2" presses button 2
    except (EOFError, KeyboardInterrupt):
        print()
        return 0


def _ask_jsonl(engine: Engine, stdin: TextIO, out: TextIO) -> int:
    for n, line in enumerate(stdin):
        line = line.rstrip("\n")
        user, text = f"line{n}", line
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and "text" in obj:
                user = str(obj.get("user", user))
                text = obj["text"] if isinstance(obj["text"], str) else ""
        reply = engine.respond(user, text, channel="cli")
        out.write(json.dumps(reply.to_dict(), ensure_ascii=False) + "\n")
        out.flush()
    return 0


def _validate(settings: Settings, no_warnings: bool) -> int:
    from bot.catalogue.cache import catalogue_loader
    from bot.catalogue.confusables import confusable_pairs

    try:
        catalogue = catalogue_loader(settings)(settings.intents_dir, settings.content_dir)
    except CatalogueError as exc:
        # Warnings too: "答案没有被任何意图使用" is often what reveals a mistyped answer id.
        shown = exc.warnings if not no_warnings else ()
        for problem in sorted([*exc.problems, *shown]):
            print(problem)
        also = f"、{len(shown)} 条警告" if shown else ""
        print(f"发现 {len(exc.problems)} 个错误{also}；请按提示修改后再运行 legalbot validate。")
        return 1
    warnings = [] if no_warnings else [*catalogue.warnings, *confusable_pairs(catalogue)]
    for problem in warnings:
        print(problem)
    examples = sum(len(i.examples) for i in catalogue.intents.values())
    print(f"检查通过：{len(catalogue.intents)} 个意图，{examples} 条例句，{len(warnings)} 条警告。")
    return 0


def _eval(engine: Engine, args: argparse.Namespace) -> int:
    from dataclasses import replace as with_fields

    from bot.context import ContextStore

    from bot.checks.evaluation import (
        figures,
        format_sides,
        format_summary,
        load_cases,
        run_cases,
        run_model_alone,
        summarize,
    )

    cases = [case for path in args.files for case in load_cases(path)]
    summary = summarize(run_cases(engine, cases))
    fuzzy = with_fields(engine, learned_veto=False, context=ContextStore())  # a fresh context: new citizens
    sides = [("fuzzy matching alone", figures(run_cases(fuzzy, cases))),
             ("learned model alone", figures(run_model_alone(engine, cases))),
             ("combined (the bot)", summary.overall)]
    if args.json:
        from dataclasses import asdict
        print(json.dumps({"overall": asdict(summary.overall),
                          "by_tag": {k: asdict(v) for k, v in summary.by_tag.items()},
                          "emergency_recall": summary.emergency_recall,
                          "safety": asdict(summary.safety) if summary.safety else None},
                         ensure_ascii=False, indent=2))
    else:
        print(format_sides(sides) + "\n")
        print(format_summary(summary, show_failures=args.failures))
    o = summary.overall
    checks = [
        (args.min_accuracy, o.accuracy, ">=", "answer accuracy"),
        (args.min_useful, o.useful, ">=", "useful rate"),
        (args.max_wrong, o.wrong, "<=", "wrong-answer rate"),
        (args.max_false_accept, o.false_accept, "<=", "false-accept rate"),
        (args.min_emergency_recall, summary.emergency_recall or 0.0, ">=", "emergency recall"),
    ]
    failed = [f"{name} {value:.3f} is not {op} {bar}" for bar, value, op, name in checks
              if bar is not None and not (value >= bar if op == ">=" else value <= bar)]
    for line in failed:
        print(f"FAILED: {line}")
    return 1 if failed else 0


def _run(args: argparse.Namespace, environ: dict[str, str]) -> int:
    settings = _settings(args, environ)
    command = args.command
    if command == "validate":
        return _validate(settings, args.no_warnings)
    if command == "check":
        from bot.checks.check_command import run_check

        return run_check(settings, args.files)
    if command == "tune":
        from bot.checks.tune_command import run_tune

        return run_tune(settings, args.files, holdout=args.holdout, guards=args.guard,
                        max_wrong=args.max_wrong, write=args.write)
    if command == "test":
        from bot.checks.conversations import run_cli

        return run_cli(settings, args.paths, channel=args.channel)
    if command == "telegram":
        from bot.service.serving import run_polling

        return run_polling(settings)
    if command == "serve":
        from bot.service.serving import serve

        return serve(settings, host=args.host, port=args.port)
    if command == "report":
        from bot.report.command import run_report

        return run_report(settings, days=args.days, html=args.html)
    engine = _engine(settings)
    if command == "chat":
        return _chat(engine, args.debug)
    if command == "ask":
        if args.jsonl:
            return _ask_jsonl(engine, sys.stdin, sys.stdout)
        if args.text is None:
            raise ConfigError("ask needs a question, or --jsonl to read them from standard input")
        reply = engine.respond("cli", args.text, channel="cli")
        if args.json:
            print(json.dumps(reply.to_dict(), ensure_ascii=False))
        else:
            _show(reply, sys.stdout, debug=False)
        return 0
    if command == "eval":
        return _eval(engine, args)
    raise AssertionError(command)


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    """Entry point of `legalbot`: 0 ok, 1 problems found, 2 usage or configuration error."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "test":
        from bot.checks.conversation_runner import CHANNELS

        if args.channel not in CHANNELS:
            parser.error(f"argument --channel: invalid choice: {args.channel!r} (choose from {', '.join(CHANNELS)})")
    # Services log their start and reloads at INFO; one line per turn (no citizen text) at DEBUG.
    quiet = logging.INFO if args.command in {"serve", "telegram"} else logging.WARNING
    logging.basicConfig(level=logging.DEBUG if args.verbose else quiet,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the token; aiohttp's access
    # log records each caller's IP address, which for /api/chat can be a citizen's.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    try:
        return _run(args, dict(os.environ if environ is None else environ))
    except CatalogueError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("意图或答案文件有错误；请运行 legalbot validate 查看。", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"legalbot: {exc}", file=sys.stderr)
        return 2
    except BotError as exc:
        print(f"legalbot: {exc}", file=sys.stderr)
        return 1
