"""Template files → reply text that fits one WeChat message.

Templates live in ``bot/templates/<intent>.txt`` as blocks headed ``## name``; a block is
addressed as ``"<file>/<name>"`` and filled with ``${field}`` placeholders
(:class:`string.Template`). A missing field is a bug and raises, so tests that render every
block catch it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from string import Template

from bot.dialog.types import Figure, Part, Reply

MAX_BYTES = 2048
SECTION_TITLES = {"steps": "办理步骤", "materials": "所需材料", "check": "在哪查询"}


# The dialogue layer's own sentences: about the conversation itself, not about any topic.
DIALOG_BLOCKS = {
    "dialog/understood_place": "（“${said}”按${place}理解；不对的话，告诉我具体是哪个城市。）",
    "dialog/noted_place": "好的，按${place}算。",
}


@lru_cache(maxsize=1)
def templates() -> dict[str, Template]:
    """Every block of every template file, loaded once."""
    blocks = {key: Template(text) for key, text in DIALOG_BLOCKS.items()}
    for entry in (resources.files("bot") / "templates").iterdir():
        if not entry.name.endswith(".txt"):
            continue
        stem = entry.name[:-4]
        name: str | None = None
        lines: list[str] = []
        for line in entry.read_text(encoding="utf-8").splitlines() + ["## "]:
            if line.startswith("## "):
                if name:
                    blocks[f"{stem}/{name}"] = Template("\n".join(lines).strip())
                name, lines = line[3:].strip(), []
            elif not line.startswith("#"):
                lines.append(line)
    return blocks


def render_part(part: Part) -> str:
    if not part.fields:
        return _render_static(part.key)
    return _template(part.key).substitute({k: _text(v) for k, v in part.fields.items()})


@cache  # bounded by the number of template blocks
def _render_static(key: str) -> str:
    """A block without fields always reads the same (most steps and materials sections)."""
    return _template(key).substitute({})


def _template(key: str) -> Template:
    try:
        return templates()[key]
    except KeyError as exc:
        raise KeyError(f"no template block {key!r}") from exc


def _text(value: object) -> str:
    return "" if value is None else str(value)


def render_parts(parts: tuple[Part, ...]) -> str:
    return "\n".join(t for t in (render_part(p) for p in parts) if t)


def render_figure(figure: Figure) -> str:
    key = "common/figure_city" if figure.kind == "city" else "common/figure_national"
    return render_part(Part(key, figure.as_dict()))


@dataclass(frozen=True)
class Rendered:
    text: str
    followups: dict[str, str]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def clip(text: str, limit: int = MAX_BYTES) -> str:
    """Cut at the last full line that fits (never inside a UTF-8 sequence)."""
    if utf8_len(text) <= limit:
        return text
    ellipsis = "…"
    budget = limit - utf8_len(ellipsis)
    out: list[str] = []
    used = 0
    for line in text.split("\n"):
        size = utf8_len(line) + 1
        if used + size > budget:
            if not out:  # one very long line: cut it by characters
                cut = line.encode("utf-8")[:budget].decode("utf-8", "ignore")
                out.append(cut)
            break
        out.append(line)
        used += size
    return "\n".join(out).rstrip() + ellipsis


def render_reply(reply: Reply, focus: str | None = None, only: bool = False) -> Rendered:
    """Answer, figures and sections; when too long, the sections move behind a numbered menu.

    ``focus`` names the section the user asked for ("带什么材料" → ``materials``): it follows the
    answer directly and is never moved behind the menu. ``only``: a follow-up asking for just
    that part of the last answer ("需要什么材料"): the section alone, the rest behind a menu.
    """
    focused: tuple[Part, ...] = getattr(reply, focus, ()) if focus in SECTION_TITLES else ()
    if only and focused:
        return _render_section_only(reply, str(focus))
    head = [render_parts(reply.answer)]
    if focused:
        head.append(f"【{SECTION_TITLES[str(focus)]}】\n{render_parts(focused)}")
    if reply.figures:
        head.append("\n".join(render_figure(f) for f in reply.figures))
    if reply.estimate:
        head.append(render_part(Part("common/estimate_note")))
    sections = []
    for attr, title in SECTION_TITLES.items():
        parts: tuple[Part, ...] = getattr(reply, attr)
        if parts and not (focused and attr == focus):
            sections.append((title, f"【{title}】\n{render_parts(parts)}"))
    full = "\n\n".join([*head, *(body for _, body in sections)])
    if utf8_len(full) <= MAX_BYTES:
        return Rendered(full, {})
    followups = {str(i): clip(body) for i, (_, body) in enumerate(sections, start=1)}
    menu = "，".join(f"回复{i}查看{title}" for i, (title, _) in enumerate(sections, start=1))
    tail = f"\n\n{menu}"
    text = clip("\n\n".join(head), MAX_BYTES - utf8_len(tail)) + tail
    return Rendered(text, followups)


def _render_section_only(reply: Reply, focus: str) -> Rendered:
    """The asked section first; the whole answer and the other sections behind a menu."""
    title = SECTION_TITLES[focus]
    return _part_with_menu(reply, f"【{title}】\n{render_parts(getattr(reply, focus))}", focus)


def render_lines_only(reply: Reply, lines: tuple[str, ...]) -> Rendered:
    """Some lines of the answer, the ones a follow-up asks about; the whole answer and the
    sections behind a menu (see ``bot.dialog.repeat``)."""
    return _part_with_menu(reply, "\n".join(lines))


def _part_with_menu(reply: Reply, shown: str, skip: str | None = None) -> Rendered:
    """``shown`` now; the whole answer and every section but ``skip`` behind numbers."""
    head = [render_parts(reply.answer)]
    if reply.figures:
        head.append("\n".join(render_figure(f) for f in reply.figures))
    if reply.estimate:
        head.append(render_part(Part("common/estimate_note")))
    others = [("完整答复", "\n\n".join(head))]
    for attr, name in SECTION_TITLES.items():
        parts: tuple[Part, ...] = getattr(reply, attr)
        if parts and attr != skip:
            others.append((name, f"【{name}】\n{render_parts(parts)}"))
    followups = {str(i): clip(text) for i, (_, text) in enumerate(others, start=1)}
    menu = "，".join(f"回复{i}查看{name}" for i, (name, _) in enumerate(others, start=1))
    tail = f"\n\n{menu}"
    return Rendered(clip(shown, MAX_BYTES - utf8_len(tail)) + tail, followups)
