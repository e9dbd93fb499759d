"""Every button label the bot can send fits WhatsApp, in every shipped language (issue 12).

WhatsApp cuts nothing: a reply button's title over 20 characters, a list row's over 24 or a row's
description over 72 is refused. So the labels are found in the source, not by driving journeys (a
keyboard no test reaches would slip by): the first argument of each `Choice(...)` in bot/ and
handlers/, and its note, held to 72 (a note it can't read is a run-time value: a count, or a quiz
option, which content holds to OPTION_MAX: `test_quiz_options_fit_as_notes`). Each label
expression is resolved with `ast` into what it can read: `_("…")`, `t.gettext(…)` over a constant,
a loop over a module-level dict or tuple of `N_("…")`, `ticked(…)` or another tick, a helper
function's return value, report topics (content/report_topics.yaml), the learn topics' titles,
language names and day names. Each is then translated from the `.po` files as the bot would (a
missing or fuzzy translation reads in English) and measured.

A label may take 24 characters when it is shown to sit in a list: its keyboard is a literal of more
than 3 choices, or a loop over more than 3 things; otherwise 20. A value known only at run time
inside a label (a count in an f-string, a `{placeholder}`) counts as one character, the least it
can be; a label that is only a number or a time ("21:00") is skipped. Expressions that name what a
person typed (an area's or a network's name) are skipped, and those in SKIPPED; any other expression
the resolver doesn't understand fails `test_every_label_is_understood`, so a new kind of label is
never silently unchecked.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import pytest
from babel import Locale
from babel.dates import get_day_names
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES
from bot.replies import BUTTON_TITLE, BUTTONS_MAX, ROW_NOTE, ROW_TITLE
from storage.content import OPTION_MAX, load_library
from storage.report_topics import Topic, load_topics

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("bot", "handlers")  # where keyboards are built
READ = ("bot", "handlers", "storage")  # where the constants they use may live
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
GETTEXT = {"_", "gettext"}
DYNAMIC = "\x00"  # stands for a value known only at run time; measured as one character
NUMBERS = {"str", "number", "len"}  # calls that make a number into text (Translator.number)

# `….name` is what a coordinator named an area, a network or a saved audience: no catalog can
# shorten it. These expressions are skipped too, each for its reason.
SKIPPED = {
    "more": "whatsapp_pages' own More row: its caller passes the translated label",
    "spread.format(count=context.t.number(plan.days))": (
        "the composer's plural 'Send over N days': tests/test_whatsapp_render.py measures it"
    ),
}


# ---------------------------------------------------------------- what a label is made of


@dataclass(frozen=True)
class Piece:
    """One part of a label: a msgid, text shown as it is, or content that varies by language
    ("topic" = a report topic's id, "weekday" = 0 for Monday)."""

    kind: str  # "msgid", "text", "topic" or "weekday"
    value: str


Reading = tuple[Piece, ...]  # one way a label can read, its pieces joined


@dataclass(frozen=True)
class Label:
    """A label found in the source: every way it can read, where it is, and its limit."""

    readings: tuple[Reading, ...]
    where: str
    limit: int


@dataclass
class Findings:
    """What the source holds: the labels (and notes) read, and the expressions that couldn't be."""

    labels: list[Label] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # "path:line: expression"


class Unknown(Exception):
    """An expression the resolver can't read."""


# ---------------------------------------------------------------- reading the source


@dataclass(frozen=True)
class Module:
    name: str  # "handlers.report"
    path: str  # "handlers/report.py"
    tree: ast.Module
    parents: Mapping[ast.AST, ast.AST]


def parse(name: str, path: str, source: str) -> Module:
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    return Module(name, path, tree, parents)


def project_modules() -> dict[str, Module]:
    modules = {}
    for folder in READ:
        for path in sorted((ROOT / folder).glob("*.py")):
            name = f"{folder}.{path.stem}"
            modules[name] = parse(name, f"{folder}/{path.name}", path.read_text(encoding="utf-8"))
    return modules


@dataclass(frozen=True)
class Where:
    """An expression and the module it sits in (names are looked up from there)."""

    node: ast.expr
    module: Module


class Resolver:
    """Reads label expressions into the ways they can read, following names to their bindings."""

    def __init__(self, modules: Mapping[str, Module]) -> None:
        self.modules = modules
        self.seen: set[tuple[int, str]] = set()  # bindings being followed, against cycles

    # ------------------------------------------------------------ labels

    def readings(self, at: Where) -> list[Reading]:
        """Every way `at` can read; raises Unknown when it can't tell."""
        node, module = at.node, at.module
        if ast.unparse(node) in SKIPPED or (isinstance(node, ast.Attribute) and node.attr == "name"):
            return []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [(Piece("text", node.value),)]
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node, module)
        if isinstance(node, ast.IfExp):
            return self.readings(Where(node.body, module)) + self.readings(Where(node.orelse, module))
        if isinstance(node, ast.Subscript) and _is_call(node.value, "get_day_names"):
            return [(Piece("weekday", str(day)),) for day in range(7)]
        if isinstance(node, ast.Subscript):  # DICT[key]: any of its values
            return [r for item in self.values(Where(node.value, module)) for r in self.readings(item)]
        if isinstance(node, ast.Name):
            return [r for bound in self.bindings(node, module) for r in self.readings(bound)]
        if isinstance(node, ast.Attribute) and node.attr == "label" and isinstance(node.value, ast.Name):
            return [r for choice in self.bindings(node.value, module) for r in self._label_of(choice)]
        if isinstance(node, ast.Call):
            return self._call(node, module)
        raise Unknown(ast.unparse(node))

    def _label_of(self, choice: Where) -> list[Reading]:
        """The label of a Choice(...) that a name holds (as when its choices are ticked anew)."""
        node = choice.node
        label = (
            _argument(node, 0, "label") if isinstance(node, ast.Call) and _called(node) == "Choice" else None
        )
        if label is None:
            raise Unknown(ast.unparse(node))
        return self.readings(Where(label, choice.module))

    def _fstring(self, node: ast.JoinedStr, module: Module) -> list[Reading]:
        readings: list[Reading] = [()]
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                try:
                    options = self.readings(Where(part.value, module))
                except Unknown:
                    options = [(Piece("text", DYNAMIC),)]
            else:
                options = self.readings(Where(part, module))
            readings = [r + o for r in readings for o in options]
        return readings

    def _call(self, node: ast.Call, module: Module) -> list[Reading]:
        name = _called(node)
        if name in GETTEXT and len(node.args) == 1:
            return [tuple(_translate(p) for p in r) for r in self.readings(Where(node.args[0], module))]
        if name == "N_" and len(node.args) == 1:
            return self.readings(Where(node.args[0], module))
        if name == "ticked" and len(node.args) == 2:
            label = self.readings(Where(node.args[1], module))
            return [*label, *((Piece("text", "✓ "), *r) for r in label)]
        if name in NUMBERS:  # str(a day's name) reads as its argument; str(n) or t.number(n) is a number
            try:
                if name == "str" and len(node.args) == 1:
                    return self.readings(Where(node.args[0], module))
            except Unknown:
                pass
            return [(Piece("text", DYNAMIC),)]
        if name == "format" and isinstance(node.func, ast.Attribute):
            return self.readings(Where(node.func.value, module))  # placeholders measured as DYNAMIC
        if name == "label" and isinstance(node.func, ast.Attribute):  # Topic.label(language)
            return [(Piece("topic", topic.id),) for topic in load_topics()]
        if name == "get" and isinstance(node.func, ast.Attribute):  # DICT.get(key, default)
            return [r for item in self.values(Where(node.func.value, module)) for r in self.readings(item)]
        function = self.function(node, module)
        if function is not None:
            return [r for result in self.returns(*function) for r in self.readings(result)]
        raise Unknown(ast.unparse(node))

    # ------------------------------------------------------------ collections

    def elements(self, at: Where) -> list[Where]:
        """The items a loop over `at` goes through; raises Unknown when it can't tell."""
        node, module = at.node, at.module
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = []
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    items += self.elements(Where(element.value, module))
                else:
                    items.append(Where(element, module))
            return items
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return [Where(node.elt, module)] * self._loops(node, module)
        if _is_call(node, "items") and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            pairs = self._dict(Where(node.func.value, module))
            return [Where(ast.Tuple([key, value]), module) for key, value in pairs]
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return self.elements(Where(node.value, module))
        if isinstance(node, ast.Await):
            return self.elements(Where(node.value, module))
        if _is_call(node, "zip") and isinstance(node, ast.Call) and node.args:
            return self._zip(node, module)
        if _content_list(node) == "topics":  # context.topics: the report topics
            return [Where(ast.Constant(topic.id), module) for topic in load_topics()]
        if _content_list(node) == "library":  # library.topics(): the learn topics
            return [Where(ast.Constant(topic), module) for topic in load_library()[0].topics()]
        if isinstance(node, (ast.Name, ast.Attribute)):
            return [item for bound in self.bindings(node, module) for item in self.elements(bound)]
        if isinstance(node, ast.Call):
            function = self.function(node, module)
            if function is not None:
                return [item for result in self.returns(*function) for item in self.elements(result)]
        raise Unknown(ast.unparse(node))

    def _zip(self, node: ast.Call, module: Module) -> list[Where]:
        """zip(a, b, …) as tuples of the items of its first argument and the others' (where known)."""
        first = self.elements(Where(node.args[0], module))
        others = []
        for argument in node.args[1:]:
            try:
                others.append([item.node for item in self.elements(Where(argument, module))])
            except Unknown:
                others.append([argument])  # reading it would raise Unknown again
        rows = [[item.node, *(column[i % len(column)] for column in others)] for i, item in enumerate(first)]
        return [Where(ast.Tuple(row), item.module) for row, item in zip(rows, first, strict=True)]

    def _loops(self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp, module: Module) -> int:
        """How many items a comprehension makes, when it loops over known things (else 1)."""
        count = 1
        for generator in node.generators:
            try:
                count *= len(self.elements(Where(generator.iter, module)))
            except Unknown:
                return 1
        return count

    def values(self, at: Where) -> list[Where]:
        """The values of the dict `at` is."""
        return [Where(value, at.module) for _key, value in self._dict(at)]

    def _dict(self, at: Where) -> list[tuple[ast.expr, ast.expr]]:
        if isinstance(at.node, ast.Dict):
            return [(k, v) for k, v in zip(at.node.keys, at.node.values, strict=True) if k is not None]
        if isinstance(at.node, (ast.Name, ast.Attribute)):
            bound = self.bindings(at.node, at.module)
            if all(isinstance(b.node, ast.Dict) for b in bound):
                return [pair for b in bound for pair in self._dict(b)]
        raise Unknown(ast.unparse(at.node))

    # ------------------------------------------------------------ names

    def bindings(self, node: ast.Name | ast.Attribute, module: Module) -> list[Where]:
        """What a name can hold where it is used: its loop items, assignments in the enclosing
        function, or else a module-level constant (followed through imports)."""
        if isinstance(node, ast.Attribute):  # module.CONSTANT, e.g. reports.KINDS
            if not isinstance(node.value, ast.Name):
                raise Unknown(ast.unparse(node))
            target = self._imported_module(node.value.id, module)
            if target is None:
                raise Unknown(ast.unparse(node))
            return self._global(node.attr, target)
        key = (id(node), module.name)
        if key in self.seen:
            return []
        self.seen.add(key)
        try:
            scope = module.parents.get(node)
            while scope is not None:
                found = self._bound_in(node.id, scope, module)
                if found:
                    return found
                scope = module.parents.get(scope)
            return self._global(node.id, module)
        finally:
            self.seen.discard(key)

    def _bound_in(self, name: str, scope: ast.AST, module: Module) -> list[Where]:
        if isinstance(scope, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            return [b for g in scope.generators for b in self._loop(name, g.target, g.iter, module)]
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found = self._passed(name, scope, module)
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        found += _assigned(name, target, node.value, module)
                elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                    found += _assigned(name, node.target, node.value, module)  # also choices += […]
                elif isinstance(node, (ast.For, ast.AsyncFor)):
                    found += self._loop(name, node.target, node.iter, module)
            return found
        return []

    def _passed(
        self, name: str, function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module
    ) -> list[Where]:
        """What the calls in this module pass for a parameter of `function` (none if not one)."""
        parameters = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
        if name not in parameters and name not in [a.arg for a in function.args.kwonlyargs]:
            return []
        position = parameters.index(name) if name in parameters else None
        passed = []
        for call in ast.walk(module.tree):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == function.name
            ):
                given = call.args[position] if position is not None and position < len(call.args) else None
                given = given or next((k.value for k in call.keywords if k.arg == name), None)
                if given is not None:
                    passed.append(Where(given, module))
        if not passed:
            raise Unknown(name)
        return passed

    def _loop(self, name: str, target: ast.expr, iterable: ast.expr, module: Module) -> list[Where]:
        path = _position(name, target)
        if path is None:
            return []
        items = self.elements(Where(iterable, module))
        for index in path:
            items = [_item(element, index) for element in items]
        return items

    def _global(self, name: str, module: Module) -> list[Where]:
        found: list[Where] = []
        for node in module.tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    found += _assigned(name, target, node.value, module)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                found += _assigned(name, node.target, node.value, module)
            elif isinstance(node, ast.ImportFrom) and node.module in self.modules:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        found += self._global(alias.name, self.modules[node.module or ""])
        if not found:
            raise Unknown(name)
        return found

    def _imported_module(self, name: str, module: Module) -> Module | None:
        for node in module.tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return self.modules.get(f"{node.module}.{alias.name}")
        return None

    # ------------------------------------------------------------ functions

    def function(self, call: ast.Call, module: Module) -> tuple[ast.AST, Module] | None:
        """The project function a call names (defined in this module or imported), if any."""
        if isinstance(call.func, ast.Name):
            return self._function(call.func.id, module)
        if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
            target = self._imported_module(call.func.value.id, module)  # e.g. reports.reference(…)
            return self._function(call.func.attr, target) if target else None
        return None

    def _function(self, name: str, module: Module) -> tuple[ast.AST, Module] | None:
        for node in module.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return node, module
            if isinstance(node, ast.ImportFrom) and node.module in self.modules:
                for alias in node.names:
                    if (alias.asname or alias.name) == name:
                        return self._function(alias.name, self.modules[node.module or ""])
        return None

    def returns(self, function: ast.AST, module: Module) -> list[Where]:
        return [
            Where(node.value, module)
            for node in ast.walk(function)
            if isinstance(node, ast.Return) and node.value is not None
        ]


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_call(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and _called(node) == name


def _content_list(node: ast.expr) -> str | None:
    """Which content a collection is: "topics" for `….topics`, "library" for `….topics()`."""
    if isinstance(node, ast.Attribute) and node.attr == "topics":
        return "topics"
    if _is_call(node, "topics") and isinstance(node, ast.Call) and not node.args:
        return "library"
    return None


def _translate(piece: Piece) -> Piece:
    """What gettext makes of a piece: a constant becomes a msgid (DYNAMIC stays as it is)."""
    return Piece("msgid", piece.value) if piece.kind == "text" and piece.value != DYNAMIC else piece


def _position(name: str, target: ast.expr) -> list[int] | None:
    """Where `name` sits in an assignment or loop target: [] for the whole, [1] for b in (a, b)."""
    if isinstance(target, ast.Name):
        return [] if target.id == name else None
    if isinstance(target, ast.Tuple):
        for index, element in enumerate(target.elts):
            inner = _position(name, element)
            if inner is not None:
                return [index, *inner]
    return None


def _item(element: Where, index: int) -> Where:
    if isinstance(element.node, ast.Tuple) and index < len(element.node.elts):
        return Where(element.node.elts[index], element.module)
    raise Unknown(ast.unparse(element.node))


def _assigned(name: str, target: ast.expr, value: ast.expr, module: Module) -> list[Where]:
    path = _position(name, target)
    if path is None:
        return []
    item = Where(value, module)
    for index in path:
        item = _item(item, index)
    return [item]


# ---------------------------------------------------------------- finding keyboards


def choices(module: Module) -> Iterator[ast.Call]:
    """Each `Choice(...)` the module builds (`click.Choice` is not a button)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Choice":
            yield node


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == name), None)


def keyboard_size(resolver: Resolver, choice: ast.Call, module: Module) -> int:
    """How many choices the keyboard holding this one is shown to have (0 when unknown): its list
    literal's length, or how many things the comprehension or loop building it goes through."""
    parent = module.parents.get(choice)
    if isinstance(parent, ast.List) and not any(isinstance(e, ast.Starred) for e in parent.elts):
        return len(parent.elts)
    if isinstance(parent, ast.ListComp):
        return len(resolver.elements(Where(parent, module)))
    if isinstance(parent, ast.Call) and _called(parent) == "append":  # choices.append(…) in a loop
        loop = module.parents.get(parent)
        while loop is not None and not isinstance(loop, (ast.For, ast.AsyncFor, ast.FunctionDef)):
            loop = module.parents.get(loop)
        if isinstance(loop, (ast.For, ast.AsyncFor)):
            try:
                return len(resolver.elements(Where(loop.iter, module)))
            except Unknown:
                return 0
    return 0


def find_labels(modules: Mapping[str, Module], scanned: Iterable[str] = SCANNED) -> Findings:
    """Every label (and note) of a Choice built in the `scanned` folders' modules, with its limit."""
    resolver = Resolver(modules)
    findings = Findings()
    for module in modules.values():
        if module.name.split(".")[0] not in scanned:
            continue
        for choice in choices(module):
            where = f"{module.path}:{choice.lineno}"
            note = _argument(choice, 2, "note")
            try:  # a note carries counts and progress: what can't be read is a run-time value
                readings = resolver.readings(Where(note, module)) if note is not None else []
            except Unknown:
                readings = []
            if readings:
                findings.labels.append(Label(tuple(dict.fromkeys(readings)), where, ROW_NOTE))
            label = _argument(choice, 0, "label")
            if label is None:
                continue
            try:
                readings = resolver.readings(Where(label, module))
            except Unknown as exc:
                findings.unknown.append(f"{where}: {ast.unparse(label)} (can't read {exc})")
                continue
            readings = [r for r in readings if not _only_numbers(r)]
            if readings:
                size = keyboard_size(resolver, choice, module)
                limit = ROW_TITLE if size > BUTTONS_MAX else BUTTON_TITLE
                findings.labels.append(Label(tuple(dict.fromkeys(readings)), where, limit))
    return findings


def _only_numbers(reading: Reading) -> bool:
    """A time or a count ("21:00"): no words to shorten."""
    return all(p.kind == "text" and not any(c.isalpha() for c in p.value) for p in reading)


# ---------------------------------------------------------------- translating and measuring


Catalog = Mapping[str, str]  # msgid → what a language shows for it


@cache
def catalog(language: str) -> dict[str, str]:
    """A language's translations as the bot uses them: a fuzzy or empty one is left out (English)."""
    if language == "en":
        return {}
    path = ROOT / "locales" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po_file:
        messages = read_po(po_file, locale=language)
    return {
        m.id: m.string
        for m in messages
        if isinstance(m.id, str) and isinstance(m.string, str) and m.string and not m.fuzzy
    }


@cache
def _topics() -> dict[str, Topic]:
    return {topic.id: topic for topic in load_topics()}


def render_piece(piece: Piece, language: str, translations: Catalog) -> str:
    if piece.kind == "msgid":
        return translations.get(piece.value) or piece.value
    if piece.kind == "topic":
        return _topics()[piece.value].label(language)
    if piece.kind == "weekday":
        return str(get_day_names("wide", locale=Locale.parse(language))[int(piece.value)])
    return piece.value


def measure(text: str) -> int:
    """Characters WhatsApp counts, a run-time value or a placeholder counted as one."""
    return len(PLACEHOLDER.sub(DYNAMIC, text))


@dataclass(frozen=True)
class Offender:
    language: str
    msgid: str
    shown: str
    length: int
    limit: int
    where: str

    def __str__(self) -> str:
        shown = self.shown.replace(DYNAMIC, "…")
        return f"{self.language}: {self.msgid!r} → {shown!r} ({self.length} > {self.limit}) at {self.where}"


def describe_reading(reading: Reading) -> str:
    """The msgids (or content) a reading is made of, as the message names them."""
    named = [p.value if p.kind == "msgid" else f"<{p.kind} {p.value}>" for p in reading if p.kind != "text"]
    return " + ".join(named) or "".join(p.value for p in reading)


def offenders(
    labels: Iterable[Label], languages: Iterable[str], catalogs: Callable[[str], Catalog] = catalog
) -> list[Offender]:
    """Every label reading, in every language, longer than its limit; each once (the strictest)."""
    worst: dict[tuple[str, str], Offender] = {}
    for language in languages:
        translations = catalogs(language)
        for label in labels:
            for reading in label.readings:
                shown = "".join(render_piece(p, language, translations) for p in reading)
                length = measure(shown)
                if length > label.limit:
                    found = Offender(
                        language, describe_reading(reading), shown, length, label.limit, label.where
                    )
                    key = (language, shown)
                    if key not in worst or found.limit < worst[key].limit:
                        worst[key] = found
    return sorted(worst.values(), key=lambda o: (o.language, o.msgid, o.shown))


def report(found: list[Offender]) -> str:
    return f"{len(found)} labels don't fit WhatsApp:\n" + "\n".join(str(o) for o in found)


# ---------------------------------------------------------------- the tests


@cache
def _project() -> Findings:
    return find_labels(project_modules())


def test_labels_fit_in_every_language() -> None:
    found = offenders(_project().labels, LANGUAGES)
    if found:
        pytest.fail(report(found), pytrace=False)


def test_every_label_is_understood() -> None:
    assert _project().unknown == [], "labels the test can't read (teach it, or add them to SKIPPED)"


def test_keyboards_are_found() -> None:
    msgids = {p.value for label in _project().labels for r in label.readings for p in r if p.kind == "msgid"}
    assert {"Report what I heard", "Shared it", "A barrier", "This week", "Confirm"} <= msgids


def test_quiz_options_fit_as_notes() -> None:
    """A quiz option is the note of a numbered Choice (handlers/learn.py), which the source can't
    tell: content refuses an option longer than OPTION_MAX, so that must fit a note."""
    assert OPTION_MAX <= ROW_NOTE


# -------------------------------------------------------- the checker itself, on made-up source

FAKE = """
from bot.i18n import N_
from bot.replies import Choice, ticked

KINDS = {"a": N_("Short"), "b": N_("A kind with a very long name")}
PAIRS = (("x", N_("Fine")), ("y", N_("Fine too")))
NOTE = "A note that is far too long to sit under a list row on WhatsApp, it goes on"

def keyboard(t, on):
    _ = t.gettext
    urgent = Choice(ticked(on, _("Urgent (ignore quiet hours)")), "k:urgent")
    kinds = [Choice(_(label), f"k:{kind}") for kind, label in KINDS.items()]
    pairs = [Choice(t.gettext(label), f"p:{k}") for k, label in PAIRS]
    hours = [Choice(f"{h:02d}:00", f"h:{h}") for h in range(24)]
    return [*kinds, urgent, Choice(_("Four"), "a", note=_(NOTE)), *pairs, *hours]
"""


def _fake(source: str = FAKE) -> Findings:
    return find_labels({"handlers.fake": parse("handlers.fake", "handlers/fake.py", source)})


def test_checker_reads_ticks_loops_and_notes() -> None:
    found = _fake()
    assert found.unknown == []
    msgids = {describe_reading(r) for label in found.labels for r in label.readings}
    assert msgids == {
        "Short",
        "A kind with a very long name",
        "Urgent (ignore quiet hours)",
        "Four",
        "Fine",
        "Fine too",
        "A note that is far too long to sit under a list row on WhatsApp, it goes on",
    }
    urgent = next(label for label in found.labels if "urgent" in describe_reading(label.readings[0]).lower())
    assert len(urgent.readings) == 2  # with and without the tick


def test_checker_fails_an_overlong_label_in_any_language() -> None:
    found = _fake()
    fake_catalogs = {"en": {}, "xx": {"Four": "Quatre mots beaucoup trop longs", "Short": "Bref"}}
    problems = offenders(found.labels, fake_catalogs, fake_catalogs.__getitem__)
    lines = {(o.language, o.msgid, o.shown, o.length) for o in problems}
    assert ("xx", "Four", "Quatre mots beaucoup trop longs", 31) in lines
    assert ("en", "A kind with a very long name", "A kind with a very long name", 28) in lines
    assert ("en", "Urgent (ignore quiet hours)", "✓ Urgent (ignore quiet hours)", 29) in lines
    assert ("en", "A note that is far too long to sit under a list row on WhatsApp, it goes on", 76) in {
        (o.language, o.msgid, o.limit + 4) for o in problems if o.limit == ROW_NOTE
    }
    assert not any(o.msgid == "Short" or o.msgid.startswith("Fine") for o in problems)
    assert "Quatre mots beaucoup trop longs" in report(problems)


def test_checker_gives_24_only_to_labels_in_long_lists() -> None:
    limits = {describe_reading(label.readings[0]): label.limit for label in _fake().labels}
    assert limits["Short"] == BUTTON_TITLE  # a loop over 2 kinds
    assert limits["Fine"] == BUTTON_TITLE
    source = FAKE.replace('"b": N_(', '"c": N_("C"), "d": N_("D"), "b": N_(')
    limits = {describe_reading(label.readings[0]): label.limit for label in _fake(source).labels}
    assert limits["Short"] == ROW_TITLE  # now a loop over 4


def test_checker_counts_a_run_time_value_as_one_character() -> None:
    found = _fake(
        'from bot.replies import Choice\ndef f(_, n):\n    return Choice(f"{_(\'Everyone\')} · {n}", "x")\n'
    )
    (label,) = found.labels
    (problem,) = offenders([replace(label, limit=5)], ["en"], lambda _language: {})
    assert problem.length == len("Everyone · ") + 1


def test_checker_names_what_it_cannot_read() -> None:
    found = _fake('from bot.replies import Choice\ndef f(x):\n    return Choice(x.title(), "x")\n')
    assert found.labels == []
    assert found.unknown == ["handlers/fake.py:3: x.title() (can't read x.title())"]


def test_checker_skips_numbers_and_follows_helpers() -> None:
    source = """
from bot.i18n import N_
from bot.replies import Choice

SIZES = {"s": N_("Small"), "l": N_("A size far too long to fit")}

def _options(_):
    options = [(_(label), size) for size, label in SIZES.items()]
    options += [(_("None"), "0")]
    return options

def keyboard(t, order, quiz):
    numbers = [Choice(str(n), f"q:{i}", note=quiz.options[i]) for n, i in enumerate(order, start=1)]
    numbers.append(Choice(t.number(5), "n:5"))
    return numbers, [Choice(label, f"s:{value}") for label, value in _options(t.gettext)]
"""
    found = _fake(source)
    assert found.unknown == []
    assert {describe_reading(r) for label in found.labels for r in label.readings} == {
        "Small",
        "A size far too long to fit",
        "None",
    }
    (problem,) = offenders(found.labels, ["en"], lambda _language: {})
    assert problem.msgid == "A size far too long to fit"


def test_checker_follows_choices_ticked_anew_and_zipped_rows() -> None:
    source = """
from bot.i18n import N_
from bot.replies import Choice, ticked

ANSWERS = (("a", N_("Shared it")), ("b", N_("An answer much too long")))

def answer_choices(t):
    return [Choice(t.gettext(label), f"answer:{kind}") for kind, label in ANSWERS]

def _ticked(choices, done):
    return [Choice(ticked(c.data in done, c.label), c.data) for c in choices]

def keyboard(t, done, rows, sizes):
    shown = [(t.gettext("Everyone"), "bc:all"), (t.gettext("A role"), "bc:role")]
    listed = [Choice(name, data, note=str(size)) for (name, data), size in zip(shown, sizes, strict=True)]
    return _ticked(answer_choices(t), done), listed
"""
    found = _fake(source)
    assert found.unknown == []
    shown = {"".join(p.value for p in r) for label in found.labels for r in label.readings}
    assert {"✓ Shared it", "✓ An answer much too long", "Everyone", "A role"} <= shown
