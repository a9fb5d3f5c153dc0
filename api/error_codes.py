"""The error codes an operation can answer, read from the code itself (never listed by hand).

From a route's endpoint and every dependency it declares, follow the calls whose target can be named
statically (a module-level function, `module.function`, `Class.method`, `self.method` inside a
class, a nested function or lambda) through the project's own modules (api, services, workers), and
collect every `DomainError` subclass that is constructed or raised on the way: its HTTP status and
its code (the literal first argument, the `code=` keyword, a module constant, or the class default).

What this cannot see (a method called on a value whose type is only known at run time, a code computed
from data) it leaves out, so the lists are what the code says explicitly; tests/api/test_openapi_errors.py
pins a few known pairs so that a change in the walk's reach is noticed.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import sys
import textwrap
import typing
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from types import FunctionType, MethodType, ModuleType
from typing import Any

from services.errors import DomainError

PROJECT_PACKAGES = ("api", "services", "workers")

# (status, code); code is None when the walk saw the error but not its code (computed at run time).
ErrorRef = tuple[int, str | None]


def _in_project(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".", 1)[0] in PROJECT_PACKAGES


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, MethodType):
        obj = obj.__func__
    try:
        return inspect.unwrap(obj)
    except ValueError:
        return obj


def _is_error_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, DomainError)


class _Scope:
    """Names visible inside one function: its module's globals, its closure, its class (for self)."""

    def __init__(self, fn: FunctionType, tree: ast.AST) -> None:
        self.fn = fn
        self.names: dict[str, Any] = dict(vars(builtins))
        self.names.update(fn.__globals__)
        self.names.update(_local_imports(tree))
        self.typed: dict[str, type] = _parameter_classes(fn)
        if fn.__closure__:
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__, strict=False):
                with contextlib.suppress(ValueError):  # an empty cell
                    self.names[name] = cell.cell_contents
        owner = fn.__qualname__.split(".<locals>.")[-1].rsplit(".", 1)
        self.owner: type | None = None
        if len(owner) == 2:
            candidate = fn.__globals__.get(owner[0].split(".")[0])
            if isinstance(candidate, type):
                self.owner = candidate

    def resolve(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            if node.id in ("self", "cls") and self.owner is not None:
                return self.owner
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            # `ctx.require_principal()`, `idem.run(...)`: a parameter's method, through its annotation.
            typed = self.typed.get(node.value.id) if isinstance(node.value, ast.Name) else None
            base = typed if typed is not None else self.resolve(node.value)
            # Only through modules and classes: an attribute of an instance may be a property that runs.
            if isinstance(base, (ModuleType, type)):
                return (
                    inspect.getattr_static(base, node.attr, None)
                    if isinstance(base, type)
                    else getattr(base, node.attr, None)
                )
        return None


def _local_imports(tree: ast.AST) -> dict[str, Any]:
    """`from services.x import f` inside a function body (imports deferred to break cycles)."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module = sys.modules.get(node.module)
            if module is None:
                continue
            for alias in node.names:
                if hasattr(module, alias.name):
                    names[alias.asname or alias.name] = getattr(module, alias.name)
                elif f"{node.module}.{alias.name}" in sys.modules:
                    names[alias.asname or alias.name] = sys.modules[f"{node.module}.{alias.name}"]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in sys.modules:
                    top = alias.asname or alias.name.split(".")[0]
                    names[top] = sys.modules[(alias.asname and alias.name) or top]
    return names


def _parameter_classes(fn: FunctionType) -> dict[str, type]:
    """Parameters annotated with one project class (`ctx: Ctx`, `idem: IdempotentDep`)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return {}
    out: dict[str, type] = {}
    for name, hint in hints.items():
        if isinstance(hint, type) and _in_project(hint) and not _is_error_class(hint):
            out[name] = hint
    return out


def _constant_str(node: ast.expr | None, scope: _Scope) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = scope.resolve(node)
        if isinstance(value, str):
            return value
    return None


def _code_position(cls: type[DomainError]) -> int | None:
    """The positional index of the `code` parameter of cls's constructor (RateLimited: second)."""
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    for index, param in enumerate(params):
        if param.name == "code":
            return index if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD) else None
    return None


def _has_code_parameter(cls: type[DomainError]) -> bool:
    try:
        return "code" in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


# An error whose code is a parameter of the function that builds it (`_limit(..., code)`): its code
# is read at each call site of that function. (status, parameter name, code when the argument is left out)
Forward = tuple[int, str, str | None]


def _code_argument(cls: type[DomainError], call: ast.Call) -> ast.expr | None:
    arg: ast.expr | None = None
    position = _code_position(cls)
    if position is not None and len(call.args) > position:
        arg = call.args[position]
    for keyword in call.keywords:
        if keyword.arg == "code":
            arg = keyword.value
    if isinstance(arg, ast.Constant) and arg.value is None:
        return None
    return arg


def _parameter_default(fn: FunctionType, name: str, fallback: str | None) -> str | None:
    try:
        param = inspect.signature(fn).parameters[name]
    except (KeyError, TypeError, ValueError):
        return fallback
    return param.default if isinstance(param.default, str) else fallback


def _argument(fn: FunctionType, call: ast.Call, name: str) -> tuple[bool, ast.expr | None]:
    """(given, expression) of the argument that call passes for fn's parameter `name`."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return True, keyword.value
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False, None
    if name in names and names.index(name) < len(call.args):
        return True, call.args[names.index(name)]
    return False, None


_IN_PROGRESS: set[FunctionType] = set()  # a cycle (a → b → a) reads no forwards from the open frame


@cache
def _direct(
    fn: FunctionType,
) -> tuple[frozenset[ErrorRef], tuple[Callable[..., Any], ...], frozenset[Forward]]:
    """The errors one function builds itself, the project functions it calls, and the errors whose
    code it takes from a parameter."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return frozenset(), (), frozenset()
    _IN_PROGRESS.add(fn)
    try:
        return _walk(fn, tree)
    finally:
        _IN_PROGRESS.discard(fn)


def _walk(
    fn: FunctionType, tree: ast.AST
) -> tuple[frozenset[ErrorRef], tuple[Callable[..., Any], ...], frozenset[Forward]]:
    scope = _Scope(fn, tree)
    parameters = set(fn.__code__.co_varnames[: fn.__code__.co_argcount + fn.__code__.co_kwonlyargcount])
    errors: set[ErrorRef] = set()
    forwards: set[Forward] = set()
    callees: list[Callable[..., Any]] = []
    for node in ast.walk(tree):
        # Any project function named here may be called from here: a callback, a dispatch table.
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            named = _unwrap(scope.resolve(node))
            if isinstance(named, FunctionType) and _in_project(named):
                callees.append(named)
        if isinstance(node, ast.Raise) and isinstance(node.exc, (ast.Name, ast.Attribute)):
            raised = scope.resolve(node.exc)
            if _is_error_class(raised):
                errors.add((raised.status, raised.code))
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Subscript):  # HANDLERS[action](call): any handler of the table
            table = scope.resolve(node.func.value)
            values = table.values() if isinstance(table, dict) else table
            if isinstance(values, (list, tuple, set, frozenset, type({}.values()))):
                callees.extend(v for v in values if isinstance(_unwrap(v), FunctionType) and _in_project(v))
        target = _unwrap(scope.resolve(node.func))
        if _is_error_class(target):
            arg = _code_argument(target, node) if _has_code_parameter(target) else None
            if isinstance(arg, ast.Name) and arg.id in parameters:
                forwards.add((target.status, arg.id, _parameter_default(fn, arg.id, target.code)))
            else:
                errors.add((target.status, target.code if arg is None else _constant_str(arg, scope)))
        elif isinstance(target, type) and _in_project(target):
            init = target.__dict__.get("__init__")
            if isinstance(init, FunctionType):
                callees.append(init)
        elif isinstance(target, FunctionType) and _in_project(target):
            callees.append(target)
            for status, name, default in _direct(target)[2] if target not in _IN_PROGRESS else ():
                given, value = _argument(target, node, name)
                errors.add((status, _constant_str(value, scope) if given else default))
    return frozenset(errors), tuple(callees), frozenset(forwards)


def reachable(roots: Iterable[Callable[..., Any]]) -> Iterator[FunctionType]:
    seen: set[FunctionType] = set()
    stack = [_unwrap(r) for r in roots]
    while stack:
        fn = stack.pop()
        if not isinstance(fn, FunctionType) or fn in seen:
            continue
        seen.add(fn)
        yield fn
        stack.extend(_unwrap(c) for c in _direct(fn)[1])


def errors_reachable_from(roots: Iterable[Callable[..., Any]]) -> set[ErrorRef]:
    found: set[ErrorRef] = set()
    for fn in reachable(roots):
        found |= _direct(fn)[0]
    return found


def dependency_calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    """Every callable of a FastAPI dependant tree (the endpoint and its dependencies)."""
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is not None:
            yield current.call
        stack.extend(current.dependencies)
