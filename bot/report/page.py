"""The report as one self-contained HTML page: inline CSS and SVG charts, nothing fetched from anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.report.clusters import Cluster
from bot.report.summary import CST, KIND_NAMES, OUTCOME_NAMES, SAMPLES, Bucket, Report, pct, refused_line

COLORS = {"answer": "#2f855a", "clarify": "#dd8a0e", "fallback": "#c53030"}
INTENT_COLOR = "#2b6cb0"
HELPFUL_COLOR = "#68d391"
UNHELPFUL_COLOR = "#9b2c2c"
WIDTH = 640  # SVG user units; the charts scale to the page width
_FONT = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif"

_STYLE = f"""
body {{ font-family: {_FONT}; margin: 0 auto; max-width: 1100px; padding: 16px 24px; color: #1a202c; }}
h1 {{ font-size: 1.5em; margin-bottom: 0.2em; }} h2 {{ font-size: 1.2em; margin-top: 1.6em; }}
.muted {{ color: #4a5568; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }}
.card {{ border: 1px solid #e2e8f0; border-radius: 8px; padding: 10px 16px; min-width: 130px; }}
.card b {{ display: block; font-size: 1.6em; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }}
figure {{ margin: 0; border: 1px solid #e2e8f0; border-radius: 8px; padding: 8px 12px; }}
figcaption {{ font-weight: bold; margin-bottom: 4px; }}
svg {{ width: 100%; height: auto; font-family: {_FONT}; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 8px; }}
th, td {{ border-bottom: 1px solid #e2e8f0; padding: 6px 8px; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; white-space: nowrap; }}
details summary {{ cursor: pointer; }}
.tag {{ display: inline-block; background: #ebf8ff; border-radius: 4px; padding: 0 6px; }}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _svg(height: int, body: list[str], label: str, chart: str) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-label="{_e(label)}" data-chart="{chart}">' + "".join(body) + "</svg>")


def bar_chart(items: Sequence[tuple[str, float, str]], *, label: str, chart: str, unit: str = "") -> str:
    """Horizontal bars: (label, value, colour) each; values shown at the bar ends."""
    row, left, right = 28, 170, 70
    top = max((v for _, v, _ in items), default=0) or 1
    body = []
    for n, (name, value, color) in enumerate(items):
        y = 6 + n * row
        w = (WIDTH - left - right) * value / top
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="13">{_e(name)}</text>')
        body.append(f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{row - 8}" fill="{color}"/>')
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12">{_e(f"{value:g}{unit}")}</text>')
    return _svg(12 + len(items) * row, body, label, chart)


def feedback_chart(report: Report) -> str:
    """Stacked bars per intent: 👍 then 👎, widths to the same scale."""
    items = report.feedback[:10]
    row, left, right = 28, 170, 80
    top = max((f.helpful + f.unhelpful for f in items), default=0) or 1
    scale = (WIDTH - left - right) / top
    body = []
    for n, f in enumerate(items):
        y = 6 + n * row
        up, down = f.helpful * scale, f.unhelpful * scale
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="13">{_e(f.title)}</text>')
        body.append(f'<rect class="bar" x="{left}" y="{y}" width="{up:.1f}" height="{row - 8}" '
                    f'fill="{HELPFUL_COLOR}"><title>👍 {f.helpful}</title></rect>')
        body.append(f'<rect class="bar" x="{left + up:.1f}" y="{y}" width="{down:.1f}" height="{row - 8}" '
                    f'fill="{UNHELPFUL_COLOR}"><title>👎 {f.unhelpful}</title></rect>')
        body.append(f'<text x="{left + up + down + 6:.1f}" y="{y + 15}" font-size="12">'
                    f'👍{f.helpful} 👎{f.unhelpful}</text>')
    return _svg(12 + max(len(items), 1) * row, body, "各意图的群众评价", "feedback")


def rates_chart(buckets: Sequence[Bucket], *, weekly: bool) -> str:
    """Two lines over time: the share of messages clarified and the share not answered."""
    points = [b for b in buckets if b.messages]
    height, left, bottom, top_pad, right = 240, 48, 40, 14, 16
    peak = max((max(b.clarify_rate, b.fallback_rate) for b in points), default=0.0)
    ceiling = next(c for c in (0.1, 0.2, 0.4, 0.6, 0.8, 1.0) if peak <= c)
    plot_w, plot_h = WIDTH - left - right, height - bottom - top_pad
    body = []
    for tick in range(5):
        value = ceiling * tick / 4
        y = top_pad + plot_h * (1 - tick / 4)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{value * 100:g}%</text>')

    def xy(i: int, rate: float) -> tuple[float, float]:
        x = left + (plot_w * i / (len(buckets) - 1) if len(buckets) > 1 else plot_w / 2)
        return x, top_pad + plot_h * (1 - rate / ceiling)

    index = {b.start: i for i, b in enumerate(buckets)}
    for outcome in ("clarify", "fallback"):
        coords = [xy(index[b.start], b.clarify_rate if outcome == "clarify" else b.fallback_rate) for b in points]
        color = COLORS[outcome]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(f'<polyline class="line" points="{path}" fill="none" stroke="{color}" stroke-width="3"/>')
        body += [f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>' for x, y in coords]
    step = max(1, len(buckets) // 8)
    for i, b in enumerate(buckets):
        if i % step == 0 or i == len(buckets) - 1:
            x, _ = xy(i, 0)
            body.append(f'<text x="{x:.1f}" y="{height - bottom + 18}" text-anchor="middle" font-size="11">'
                        f'{b.start.strftime("%m-%d")}</text>')
    legend_y = height - 6
    for n, outcome in enumerate(("clarify", "fallback")):
        x = left + n * 150
        body.append(f'<rect x="{x}" y="{legend_y - 10}" width="14" height="10" fill="{COLORS[outcome]}"/>')
        body.append(f'<text x="{x + 20}" y="{legend_y}" font-size="12">{OUTCOME_NAMES[outcome]}率</text>')
    label = f"按{'周' if weekly else '日'}的请群众选择率和未能回答率"
    return _svg(height, body, label, "rates")


def _cluster_rows(clusters: Sequence[Cluster], limit: int = 200) -> str:
    rows = []
    for n, c in enumerate(clusters[:limit], 1):
        if c.suggestion is not None:
            hint = (f'<span class="tag">{_e(c.suggestion.title)}</span> {_e(c.suggestion.intent)} '
                    f'<span class="muted">({c.suggestion.score:.2f})</span>')
        elif c.new_topic:
            hint = f'<span class="tag">新话题</span> {_e("、".join(c.new_topic))}' + (
                '<br><span class="muted">也可能超出服务范围</span>' if c.looks_out_of_scope else "")
        else:
            hint = "超出服务范围？" if c.looks_out_of_scope else '<span class="muted">无接近的意图</span>'
        if c.offered:
            hint += "<br><span class='muted'>曾让群众选：" + _e("、".join(c.offered)) + "</span>"
        variants = "".join(f"<li>{_e(t)} <span class='muted'>×{k}</span></li>" for t, k in c.texts[1:])
        more = (f"<details><summary>其他 {len(c.texts) - 1} 种说法</summary><ul>{variants}</ul></details>"
                if variants else "")
        rows.append(f'<tr><td class="n">{n}</td><td class="n">{c.size}</td><td>{_e(c.text)}{more}</td>'
                    f"<td>{hint}</td></tr>")
    if not rows:
        return "<p>没有。</p>"
    rest = clusters[limit:]
    more = (f"<p class='muted'>另有 {len(rest)} 组、共 {sum(c.size for c in rest)} 条，多为偶尔出现的说法，未列出。</p>"
            if rest else "")
    return ("<table><thead><tr><th>#</th><th>条数</th><th>代表说法</th><th>建议意图</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + more)


def render_page(report: Report) -> str:
    """The whole page; every text from the log is escaped, and the CSP forbids any fetch."""
    fmt = "%Y-%m-%d %H:%M"
    period = f"{report.start.astimezone(CST).strftime(fmt)} 至 {report.end.astimezone(CST).strftime(fmt)}（北京时间）"
    total = report.total
    cards = [("消息", total), ("群众", report.users),
             ("直接回答", pct(report.count("answer"), total)),
             ("请群众选择", pct(report.count("clarify"), total)),
             ("未能回答", pct(report.count("fallback"), total)),
             ("被限流", report.refused)]
    outcomes = [(OUTCOME_NAMES.get(o, o), n, COLORS.get(o, INTENT_COLOR)) for o, n in report.outcomes]
    intents = [(i.title, i.count, INTENT_COLOR) for i in report.top_intents]
    feedback_rows = "".join(
        f'<tr><td>{_e(f.title)} <span class="muted">{_e(f.intent)}</span></td><td class="n">{f.helpful}</td>'
        f'<td class="n">{f.unhelpful}</td><td class="n">{pct(f.unhelpful, f.helpful + f.unhelpful)}</td>'
        f"<td>{'<br>'.join(_e(s) for s in f.samples[:SAMPLES])}</td></tr>" for f in report.feedback)
    feedback_table = (
        "<table><thead><tr><th>意图</th><th>👍</th><th>👎</th><th>👎占比</th><th>得到 👎 的提问（举例）</th></tr>"
        f"</thead><tbody>{feedback_rows}</tbody></table>" if feedback_rows else "<p>这段时间没有收到评价。</p>")
    kinds = "，".join(f"{_e(KIND_NAMES.get(k, k))} {n}" for k, n in report.kinds)
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>问答机器人运行报告 {_e(period)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>江山市公共法律服务问答 运行报告</h1>
<p class="muted">{_e(period)}。群众的原话已去除身份证号、手机号等个人信息。怎样看这份报告、怎样据此改进，见《运行报告使用指南》（docs/report-guide.md）。</p>
<div class="cards">{"".join(f'<div class="card">{_e(k)}<b>{_e(v)}</b></div>' for k, v in cards)}</div>
{f'<p class="muted" data-refused="{report.refused}">{_e(refused_line(report))}</p>' if report.refused else ""}
<div class="charts">
<figure><figcaption>处理结果</figcaption>{bar_chart(outcomes, label="处理结果", chart="outcomes")}
<p class="muted">细分：{kinds or "无"}</p></figure>
<figure><figcaption>请群众选择率和未能回答率（按{'周' if report.weekly else '日'}）</figcaption>
{rates_chart(report.buckets, weekly=report.weekly)}</figure>
<figure><figcaption>最常回答的问题</figcaption>{bar_chart(intents, label="最常回答的意图", chart="intents")}</figure>
<figure><figcaption>群众评价（👍 / 👎）</figcaption>{feedback_chart(report)}</figure>
</div>
<h2>群众评价：哪些回答得到 👎</h2>
{feedback_table}
<h2>没能回答的问题（相似说法归为一组，条数多的在前）</h2>
{_cluster_rows(report.unanswered)}
<h2>需要群众选择的问题（机器人拿不准）</h2>
{_cluster_rows(report.clarified)}
{'' if report.has_catalogue else '<p>意图文件有错误，无法给出建议意图；请先运行 legalbot validate。</p>'}
</body>
</html>
"""
