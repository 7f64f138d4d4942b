"""A parser for Logstash's pipeline configuration language, for structural tests.

Logstash cannot run here, so the pipeline is checked by its documented
structure: sections of plugin blocks with ``name => value`` settings (strings,
numbers, barewords, arrays, hashes, nested codecs) and ``if / else if / else``
blocks. A parse error means Logstash would refuse the file too; the tree lets
tests check plugins, options and conditions against the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn


class ConfigSyntaxError(ValueError):
    """The text is not valid Logstash configuration (with the line)."""


@dataclass
class Plugin:
    """``name { settings }``: an input, filter, output or codec."""

    name: str
    settings: dict[str, Any]
    line: int


@dataclass
class Conditional:
    """``if … { } else if … { } else { }``: conditions are kept as raw text."""

    branches: list[tuple[str, list[Any]]]
    otherwise: list[Any] = field(default_factory=list)


@dataclass
class Bareword:
    """An unquoted value (``true``, ``v8``)."""

    text: str


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.pos) + 1

    def fail(self, message: str) -> NoReturn:
        msg = f"line {self.line}: {message}"
        raise ConfigSyntaxError(msg)

    def skip(self) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char.isspace():
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.pos)

    def expect(self, token: str) -> None:
        if not self.peek(token):
            found = self.text[self.pos : self.pos + 20]
            self.fail(f"expected {token!r}, found {found!r}")
        self.pos += len(token)

    def name(self) -> str:
        self.skip()
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "_-@"
        ):
            self.pos += 1
        if start == self.pos:
            self.fail(f"expected a name, found {self.text[self.pos : self.pos + 20]!r}")
        return self.text[start : self.pos]

    def quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                self.fail("unterminated string")
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos : self.pos + 2])
                self.pos += 2
                continue
            self.pos += 1
            if char == quote:
                return "".join(out)
            out.append(char)

    def config(self) -> dict[str, list[Any]]:
        sections: dict[str, list[Any]] = {}
        while True:
            self.skip()
            if self.pos >= len(self.text):
                return sections
            section = self.name()
            if section not in ("input", "filter", "output"):
                self.fail(f"unknown section {section!r}")
            self.expect("{")
            sections.setdefault(section, []).extend(self.body())
            self.expect("}")

    def body(self) -> list[Any]:
        items: list[Any] = []
        while not self.peek("}"):
            if self.pos >= len(self.text):
                self.fail("unbalanced braces: end of file inside a block")
            line = self.line
            word = self.name()
            if word == "if":
                items.append(self.conditional())
            elif word == "else":
                self.fail("'else' without 'if'")
            else:
                items.append(self.plugin(word, line))
        return items

    def conditional(self) -> Conditional:
        branches = [(self.condition(), self.block())]
        otherwise: list[Any] = []
        while self.peek("else"):
            self.pos += len("else")
            if self.peek("if"):
                self.pos += len("if")
                branches.append((self.condition(), self.block()))
            else:
                otherwise = self.block()
                break
        return Conditional(branches, otherwise)

    def block(self) -> list[Any]:
        self.expect("{")
        items = self.body()
        self.expect("}")
        return items

    def condition(self) -> str:
        self.skip()
        start, depth = self.pos, 0
        while True:
            if self.pos >= len(self.text):
                self.fail("condition without a block")
            char = self.text[self.pos]
            if char in "\"'":
                self.quoted()
                continue
            if char == "/" and self.text[start : self.pos].rstrip().endswith(("=~", "!~")):
                self.pos += 1
                while self.pos < len(self.text) and self.text[self.pos] != "/":
                    self.pos += 2 if self.text[self.pos] == "\\" else 1
                self.pos += 1
                continue
            if char in "[(":
                depth += 1
            elif char in "])":
                depth -= 1
            elif char == "{" and depth == 0:
                condition = self.text[start : self.pos].strip()
                if not condition:
                    self.fail("empty condition")
                return condition
            self.pos += 1

    def plugin(self, name: str, line: int) -> Plugin:
        self.expect("{")
        settings: dict[str, Any] = {}
        while not self.peek("}"):
            key = self.name()
            self.expect("=>")
            if key in settings:
                self.fail(f"setting {key!r} given twice")
            settings[key] = self.value()
        self.expect("}")
        return Plugin(name, settings, line)

    def value(self) -> Any:
        self.skip()
        char = self.text[self.pos : self.pos + 1]
        if char in ("'", '"'):
            return self.quoted()
        if char == "[":
            self.pos += 1
            items = []
            while not self.peek("]"):
                items.append(self.value())
                if self.peek(","):
                    self.pos += 1
            self.expect("]")
            return items
        if char == "{":
            self.pos += 1
            entries = {}
            while not self.peek("}"):
                self.skip()
                key = self.quoted() if self.text[self.pos] in "'\"" else self.name()
                self.expect("=>")
                entries[key] = self.value()
                if self.peek(","):
                    self.pos += 1
            self.expect("}")
            return entries
        line = self.line
        word = self.name()
        if self.peek("{"):
            return self.plugin(word, line)
        if word.lstrip("-").replace(".", "", 1).isdigit():
            return float(word) if "." in word else int(word)
        return Bareword(word)


def parse(text: str) -> dict[str, list[Any]]:
    """Sections (``input``, ``filter``, ``output``) → their plugins and conditionals."""
    return _Parser(text).config()


def walk(items: list[Any]) -> list[Plugin]:
    """Every plugin in ``items``, inside conditionals too, in order."""
    found: list[Plugin] = []
    for item in items:
        if isinstance(item, Plugin):
            found.append(item)
        else:
            for _, branch in item.branches:
                found += walk(branch)
            found += walk(item.otherwise)
    return found


def conditions(items: list[Any]) -> list[str]:
    """The raw text of every condition in ``items``, nested ones too."""
    found: list[str] = []
    for item in items:
        if isinstance(item, Conditional):
            for condition, branch in item.branches:
                found.append(condition)
                found += conditions(branch)
            found += conditions(item.otherwise)
    return found
