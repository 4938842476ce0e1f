"""The expression language of ``if`` conditions and ``set`` effects, and text interpolation.

A small, closed language: numbers, strings, ``true``/``false``, variable names,
``visits("node")``, ``not``/``and``/``or``, comparisons, ``+ - * / %`` and parentheses. It is
parsed by hand into a tiny syntax tree and evaluated by closures built from that tree: there is no
``eval``/``exec``, no attribute access and no call but ``visits``, so a story cannot run code.
Limits on length, nesting, number size and string size mean evaluation cannot hang either.

>>> expr = parse("gold >= 3 and visits('cellar') == 0")
>>> sorted(expr.variables), sorted(expr.nodes)
(['gold'], ['cellar'])
>>> evaluate(expr, {"gold": 5}, lambda node: 0)
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, TypeAlias, cast

Value: TypeAlias = bool | int | float | str
Kind = Literal["bool", "number", "string"]
Visits = Callable[[str], int]

#: Longest expression accepted, in characters. Real conditions are a line or two.
MAX_LENGTH = 1000
#: Deepest nesting of operators and parentheses.
MAX_DEPTH = 40
#: Numbers outside this range are refused (at load for literals, at run time for results).
MAX_NUMBER = 2**53


def in_range(value: object) -> bool:
    """False for a number outside ``-MAX_NUMBER..MAX_NUMBER`` (or NaN); True for anything else.

    Story files and saves may hold only numbers in range, as expressions compute only there.

    >>> in_range(2**53), in_range(-1e300), in_range(float("nan")), in_range(True), in_range("9e99")
    (True, False, False, True, True)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    return -MAX_NUMBER <= value <= MAX_NUMBER


#: Longest string a concatenation may build.
MAX_STRING = 10_000

KEYWORDS = frozenset({"true", "false", "not", "and", "or", "visits"})


class ExpressionError(ValueError):
    """A syntax error; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (at column {column})")
        self.reason = message
        self.column = column


class EvaluationError(ValueError):
    """An expression failed on real values (division by zero, a number too large...)."""


def kind_of(value: Value) -> Kind:
    """The language type of a Python value.

    >>> kind_of(True), kind_of(3), kind_of(2.5), kind_of("x")
    ('bool', 'number', 'number', 'string')
    """
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


# --- Syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed expression: its source, its tree, and what it refers to."""

    source: str
    tree: ExprTree
    variables: frozenset[str]
    nodes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Lit:
    value: Value
    column: int


@dataclass(frozen=True, slots=True)
class Var:
    name: str
    column: int


@dataclass(frozen=True, slots=True)
class VisitsCall:
    node: str
    column: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "not" or "-"
    operand: ExprTree
    column: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: ExprTree
    right: ExprTree
    column: int


ExprTree: TypeAlias = Lit | Var | VisitsCall | Unary | Binary

# --- Tokens ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<bad>\*\*|&&|\|\|)
  | (?P<op>==|!=|<=|>=|[<>+\-*/%(),])
  | (?P<bad2>!|=|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_HINTS = {
    "**": "** (power) is not supported",
    "&&": "use 'and' instead of &&",
    "||": "use 'or' instead of ||",
    "!": "use 'not' instead of !",
    "=": "use == to compare (effects assign with the 'set' object, not =)",
}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # number, string, name, op, end
    text: str
    column: int
    value: Value | None = None


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        text = match.group()
        column = match.start() + 1
        if kind == "space":
            continue
        if kind in ("bad", "bad2"):
            if text in _HINTS:
                raise ExpressionError(_HINTS[text], column)
            if text in "'\"":
                raise ExpressionError("string is not closed", column)
            raise ExpressionError(f"unexpected character {text!r}", column)
        if kind == "number":
            if len(text.split(".")[0]) > 15:
                raise ExpressionError("number too large", column)
            value: Value = float(text) if "." in text else int(text)
            tokens.append(_Token("number", text, column, value))
        elif kind == "string":
            body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
            tokens.append(_Token("string", text, column, body))
        else:
            tokens.append(_Token(kind or "op", text, column))
    tokens.append(_Token("end", "", len(source) + 1))
    return tokens


# --- Parser (precedence climbing) ------------------------------------------------------------

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0
        self.depth = 0
        self.variables: set[str] = set()
        self.nodes: set[str] = set()

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text != text or token.kind not in ("op", "name"):
            found = f"'{token.text}'" if token.kind != "end" else "the end"
            raise ExpressionError(f"expected '{text}' but found {found}", token.column)
        return token

    def nest(self, column: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} deep", column)

    def parse(self) -> ExprTree:
        tree = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            raise ExpressionError(f"unexpected '{token.text}'", token.column)
        return tree

    def parse_or(self) -> ExprTree:
        left = self.parse_and()
        while self.peek().text == "or" and self.peek().kind == "name":
            token = self.take()
            self.nest(token.column)
            left = Binary("or", left, self.parse_and(), token.column)
        return left

    def parse_and(self) -> ExprTree:
        left = self.parse_not()
        while self.peek().text == "and" and self.peek().kind == "name":
            token = self.take()
            self.nest(token.column)
            left = Binary("and", left, self.parse_not(), token.column)
        return left

    def parse_not(self) -> ExprTree:
        token = self.peek()
        if token.kind == "name" and token.text == "not":
            self.take()
            self.nest(token.column)
            return Unary("not", self.parse_not(), token.column)
        return self.parse_comparison()

    def parse_comparison(self) -> ExprTree:
        left = self.parse_sum()
        token = self.peek()
        if token.kind == "op" and token.text in _COMPARISONS:
            self.take()
            left = Binary(token.text, left, self.parse_sum(), token.column)
            after = self.peek()
            if after.kind == "op" and after.text in _COMPARISONS:
                raise ExpressionError(
                    "comparisons cannot be chained; join them with 'and'", after.column
                )
        return left

    def parse_sum(self) -> ExprTree:
        left = self.parse_product()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            token = self.take()
            self.nest(token.column)
            left = Binary(token.text, left, self.parse_product(), token.column)
        return left

    def parse_product(self) -> ExprTree:
        left = self.parse_unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/", "%"):
            token = self.take()
            self.nest(token.column)
            left = Binary(token.text, left, self.parse_unary(), token.column)
        return left

    def parse_unary(self) -> ExprTree:
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.take()
            self.nest(token.column)
            return Unary("-", self.parse_unary(), token.column)
        return self.parse_primary()

    def parse_primary(self) -> ExprTree:
        token = self.take()
        if token.kind in ("number", "string"):
            assert token.value is not None
            return Lit(token.value, token.column)
        if token.kind == "op" and token.text == "(":
            self.nest(token.column)
            inner = self.parse_or()
            self.expect(")")
            self.depth -= 1
            return inner
        if token.kind == "name":
            return self.parse_name(token)
        if token.kind == "end":
            raise ExpressionError("expression is incomplete", token.column)
        raise ExpressionError(f"unexpected '{token.text}'", token.column)

    def parse_name(self, token: _Token) -> ExprTree:
        name = token.text
        if name in ("true", "false"):
            return Lit(name == "true", token.column)
        if name == "visits":
            self.expect("(")
            argument = self.take()
            if argument.kind != "string":
                raise ExpressionError(
                    'visits takes a quoted node id, e.g. visits("cellar")', argument.column
                )
            self.expect(")")
            node = str(argument.value)
            self.nodes.add(node)
            return VisitsCall(node, token.column)
        if name in KEYWORDS:
            raise ExpressionError(f"'{name}' cannot stand here", token.column)
        if self.peek().kind == "op" and self.peek().text == "(":
            raise ExpressionError(
                f"'{name}(...)' is not a function; only visits(...) is", token.column
            )
        self.variables.add(name)
        return Var(name, token.column)


@lru_cache(maxsize=65536)
def parse(source: str) -> Expr:
    """Parse an expression, or raise :class:`ExpressionError` saying where and why.

    Type rules that need no variable types are checked here too (``not`` of a number, ``1 + 'a'``).

    >>> parse("__import__('os')")
    Traceback (most recent call last):
    ...
    branching.story.expressions.ExpressionError: '__import__(...)' is not a function; ...
    >>> parse("().__class__")
    Traceback (most recent call last):
    ...
    branching.story.expressions.ExpressionError: unexpected character '.' (at column 3)
    >>> parse("9**9**9")
    Traceback (most recent call last):
    ...
    branching.story.expressions.ExpressionError: ** (power) is not supported (at column 2)
    """
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"longer than {MAX_LENGTH} characters ({len(source)})", MAX_LENGTH)
    if not source.strip():
        raise ExpressionError("expression is empty", 1)
    parser = _Parser(source)
    tree = parser.parse()
    expr = Expr(source, tree, frozenset(parser.variables), frozenset(parser.nodes))
    _infer(tree, {}, strict=False)
    return expr


# --- Types -----------------------------------------------------------------------------------


def _describe(kind: Kind) -> str:
    return {"bool": "true or false", "number": "a number", "string": "a string"}[kind]


def _show(tree: ExprTree) -> str:
    if isinstance(tree, Lit):
        return repr(tree.value) if isinstance(tree.value, str) else str(tree.value).lower()
    if isinstance(tree, Var):
        return tree.name
    if isinstance(tree, VisitsCall):
        return f'visits("{tree.node}")'
    return "the expression"


def _infer(tree: ExprTree, kinds: Mapping[str, Kind], *, strict: bool) -> Kind | None:
    """The type of ``tree``; raises ExpressionError when a type error is certain.

    Variables missing from ``kinds`` have an unknown type (``None``), unless ``strict``.
    """
    if isinstance(tree, Lit):
        return kind_of(tree.value)
    if isinstance(tree, Var):
        return kinds.get(tree.name)
    if isinstance(tree, VisitsCall):
        return "number"
    if isinstance(tree, Unary):
        operand = _infer(tree.operand, kinds, strict=strict)
        wanted: Kind = "bool" if tree.op == "not" else "number"
        if operand is not None and operand != wanted:
            hint = ""
            if tree.op == "not" and isinstance(tree.operand, VisitsCall):
                hint = f"; compare it, e.g. {_show(tree.operand)} == 0"
            raise ExpressionError(
                f"{tree.op} needs {_describe(wanted)}, "
                f"and {_show_kind(tree.operand, operand)}{hint}",
                tree.column,
            )
        return wanted
    left = _infer(tree.left, kinds, strict=strict)
    right = _infer(tree.right, kinds, strict=strict)
    op = tree.op
    if op in ("and", "or"):
        for side, kind in ((tree.left, left), (tree.right, right)):
            if kind is not None and kind != "bool":
                raise ExpressionError(
                    f"'{op}' joins true/false values, and {_show_kind(side, kind)}", tree.column
                )
        return "bool"
    if op in ("==", "!="):
        if left is not None and right is not None and left != right:
            raise ExpressionError(
                f"'{op}' compares {_describe(left)} with {_describe(right)}; they are never equal",
                tree.column,
            )
        return "bool"
    if op in ("<", "<=", ">", ">="):
        for side, kind in ((tree.left, left), (tree.right, right)):
            if kind == "bool":
                raise ExpressionError(
                    f"'{op}' cannot order true/false ({_show(side)})", tree.column
                )
        if left is not None and right is not None and left != right:
            raise ExpressionError(
                f"'{op}' compares {_describe(left)} with {_describe(right)}", tree.column
            )
        return "bool"
    if op == "+":
        for side, kind in ((tree.left, left), (tree.right, right)):
            if kind == "bool":
                raise ExpressionError(f"'+' cannot add true/false ({_show(side)})", tree.column)
        if left is not None and right is not None and left != right:
            raise ExpressionError(
                f"'+' cannot add {_describe(left)} and {_describe(right)}", tree.column
            )
        return left or right
    for side, kind in ((tree.left, left), (tree.right, right)):
        if kind is not None and kind != "number":
            raise ExpressionError(
                f"'{op}' needs numbers, and {_show_kind(side, kind)}", tree.column
            )
    return "number"


def _show_kind(tree: ExprTree, kind: Kind) -> str:
    name = _show(tree)
    article = "is" if name != "the expression" else "gives"
    return f"{name} {article} {_describe(kind)}"


def check(expr: Expr, kinds: Mapping[str, Kind]) -> Kind | None:
    """Check ``expr`` against the story's variable types; return its type.

    Raises :class:`ExpressionError` for a certain type error.

    >>> check(parse("name + 1"), {"name": "string"})
    Traceback (most recent call last):
    ...
    branching.story.expressions.ExpressionError: '+' cannot add a string and a number (at column 6)
    """
    return _infer(expr.tree, kinds, strict=True)


# --- Evaluation ------------------------------------------------------------------------------

_Compiled = Callable[[Mapping[str, Value], Visits], Value]


def _number(value: Value, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EvaluationError(f"{what} needs a number, got {format_value(value)!r}")
    return value


def _checked(result: int | float) -> int | float:
    if not -MAX_NUMBER <= result <= MAX_NUMBER:
        raise EvaluationError(f"number out of range ({format_value(result)})")
    return result


def _compile(tree: ExprTree) -> _Compiled:
    if isinstance(tree, Lit):
        constant = tree.value
        return lambda variables, visits: constant
    if isinstance(tree, Var):
        name = tree.name

        def variable(variables: Mapping[str, Value], visits: Visits) -> Value:
            try:
                return variables[name]
            except KeyError:
                raise EvaluationError(f"variable {name!r} is not defined") from None

        return variable
    if isinstance(tree, VisitsCall):
        node = tree.node
        return lambda variables, visits: visits(node)
    if isinstance(tree, Unary):
        operand = _compile(tree.operand)
        if tree.op == "not":

            def negate(variables: Mapping[str, Value], visits: Visits) -> Value:
                value = operand(variables, visits)
                if not isinstance(value, bool):
                    raise EvaluationError(f"not needs true or false, got {format_value(value)!r}")
                return not value

            return negate
        return lambda variables, visits: -_number(operand(variables, visits), "-")
    return _compile_binary(tree.op, _compile(tree.left), _compile(tree.right))


def _compile_binary(op: str, left: _Compiled, right: _Compiled) -> _Compiled:
    if op in ("and", "or"):
        stop = op == "or"  # the value that decides the result without looking right

        def logic(variables: Mapping[str, Value], visits: Visits) -> Value:
            first = left(variables, visits)
            if not isinstance(first, bool):
                raise EvaluationError(f"'{op}' needs true or false, got {format_value(first)!r}")
            if first is stop:
                return stop
            second = right(variables, visits)
            if not isinstance(second, bool):
                raise EvaluationError(f"'{op}' needs true or false, got {format_value(second)!r}")
            return second

        return logic

    def binary(variables: Mapping[str, Value], visits: Visits) -> Value:
        a = left(variables, visits)
        b = right(variables, visits)
        if op == "==":
            return kind_of(a) == kind_of(b) and a == b
        if op == "!=":
            return not (kind_of(a) == kind_of(b) and a == b)
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            if len(a) + len(b) > MAX_STRING:
                raise EvaluationError(f"text longer than {MAX_STRING} characters")
            return a + b
        if op in ("<", "<=", ">", ">=") and isinstance(a, str) and isinstance(b, str):
            return _ORDER[op](a, b)
        x = _number(a, f"'{op}'")
        y = _number(b, f"'{op}'")
        if op in _ORDER:
            return _ORDER[op](x, y)
        if op in ("/", "%") and y == 0:
            raise EvaluationError("division by zero")
        return _checked(_ARITHMETIC[op](x, y))

    return binary


_ORDER: dict[str, Callable[[int | float | str, int | float | str], bool]] = {
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}
_ARITHMETIC: dict[str, Callable[[int | float, int | float], int | float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
}


@lru_cache(maxsize=65536)
def compiled(source: str) -> _Compiled:
    """The evaluator for an expression source, built once and cached."""
    return _compile(parse(source).tree)


def evaluate(expr: Expr | str, variables: Mapping[str, Value], visits: Visits) -> Value:
    """Evaluate an expression; raises :class:`EvaluationError` when it fails on these values.

    >>> evaluate("1 / 0", {}, lambda node: 0)
    Traceback (most recent call last):
    ...
    branching.story.expressions.EvaluationError: division by zero
    """
    source = expr if isinstance(expr, str) else expr.source
    return compiled(source)(variables, visits)


def effect_value(value: Value, variables: Mapping[str, Value], visits: Visits) -> Value:
    """The value an effect assigns: strings are expressions, other JSON values literals."""
    if isinstance(value, str):
        return evaluate(value, variables, visits)
    return value


# --- Interpolation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Template:
    """Text split into literal parts and ``{variable}`` references."""

    parts: tuple[str | Var, ...]
    variables: frozenset[str] = field(default_factory=frozenset)

    def render(self, variables: Mapping[str, Value]) -> str:
        if not self.variables:  # most text: nothing to fill in (players render every step)
            return "".join(cast("tuple[str, ...]", self.parts))
        return "".join(
            part if isinstance(part, str) else format_value(variables.get(part.name, ""))
            for part in self.parts
        )


class TemplateError(ValueError):
    """A malformed ``{...}`` in text; ``offset`` is 0-based within the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@lru_cache(maxsize=65536)
def template(text: str) -> Template:
    """Parse text with ``{variable}`` placeholders; ``{{`` and ``}}`` stand for braces.

    >>> template("You have {gold} coins {{not a variable}}").render({"gold": 3})
    'You have 3 coins {not a variable}'
    >>> template("a { b")
    Traceback (most recent call last):
    ...
    branching.story.expressions.TemplateError: '{' is not closed; write {{ for a literal brace
    """
    if "{" not in text and "}" not in text:
        return Template((text,))
    parts: list[str | Var] = []
    names: set[str] = set()
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(text[position : match.start()])
        position = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif token == "{":
            raise TemplateError("'{' is not closed; write {{ for a literal brace", match.start())
        elif token == "}":
            raise TemplateError(
                "'}' has no opening '{'; write }} for a literal brace", match.start()
            )
        else:
            name = (match.group(1) or "").strip()
            if not _NAME.fullmatch(name) or name in KEYWORDS:
                raise TemplateError(
                    f"{{{match.group(1)}}} is not a variable name; "
                    "write {{ and }} for literal braces",
                    match.start(),
                )
            parts.append(Var(name, match.start() + 1))
            names.add(name)
    parts.append(text[position:])
    return Template(tuple(part for part in parts if part != ""), frozenset(names))


def format_value(value: Value) -> str:
    """How a value reads in story text.

    >>> format_value(True), format_value(2.0), format_value(0.1 + 0.2), format_value(7)
    ('true', '2', '0.3', '7')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return str(value)
