"""Response shaping compiled to Python: one generated function per object shape.

:mod:`gateway.executor.shaping` decides once per operation how each object is shaped
(:class:`~gateway.executor.shaping.ObjectShape`: response names, kinds, arguments) and
its interpreter, ``_object``, runs that decision per object with a loop over the fields
and a dispatch on each field's kind. For a response without errors (almost all of them),
this module turns each shape into straight-line Python instead: one local per field, the
checks of its kind written out, and one dict display at the end, so the per-field loop,
tuple unpacking and kind dispatch disappear. A listing of fifty items with ten fields of
six leaves each is ~1,000 objects, and this is where the gateway spends its CPU on it.

A generated function ``fn(raw)`` answers what ``_object(shape, raw, quiet=False)`` answers:
the shaped dict, or :class:`~gateway.executor.shaping._NeedPaths` raised where an error
must be reported with its path (a null in a non-null position, an enum value the API
schema does not know); the caller then lets the reference formatter shape the response.
Without ``quiet`` no position ever bubbles, so there is no ``_BUBBLE`` to check either.
Kinds without a dedicated template (lists of lists, abstract types...) call the shared
generic completion, ``_complete``, which runs generated functions for the objects it meets.

The source only ever contains response names (GraphQL names, written with ``repr``),
local names it makes up, and references to constants (enum value sets, type nodes,
functions) handed to ``exec`` in its namespace: nothing a client wrote is executed.
tests/gateway_core/test_shaping.py compares the three ways (generated, interpreter,
reference formatter) on random responses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway.executor import shaping as _s

__all__ = ["ShapeFunction", "compile_shape"]

ShapeFunction = Callable[[Any], dict[str, Any]]
"""A generated shaping function: raw object -> shaped object (raises ``_NeedPaths``)."""


def _decoded_key(name: str) -> str:
    """``name`` as orjson decodes an object key: the very str object, while orjson's key cache holds it.

    The reuse check compares a raw object's keys with the response names; identical str
    objects compare without reading their characters (an evicted cache entry only makes
    the comparison slower, never different)."""
    return next(iter(orjson.loads(b"{" + orjson.dumps(name) + b":0}")))  # type: ignore[no-any-return]


def _need_paths() -> Any:
    raise _s._NeedPaths


def _enum(value: Any, values: Any, hidden: Any) -> Any:
    """An enum value the inline check did not pass as is: None for null or hidden, else the reference reports it."""
    if value is None:
        return None
    if isinstance(value, str):
        if value in values:  # a str subclass (never from JSON): what the interpreter accepts
            return value
        if value in hidden:
            return None  # an @inaccessible value: hidden, so no error names it
    raise _s._NeedPaths


class _Unit:
    """The source of the functions for every not yet compiled shape reachable from one shape."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "_NeedPaths": _s._NeedPaths,
            "_need_paths": _need_paths,
            "_enum": _enum,
            "_complete": _s._complete,
            "_object": _s._object,
            "isinstance": isinstance,
            "type": type,
            "dict": dict,
            "list": list,
            "str": str,
        }
        self.names: dict[int, str] = {}  # id(shape) -> function name in this unit
        self.pending: list[_s.ObjectShape] = []
        self.compiled: list[tuple[_s.ObjectShape, str]] = []

    def const(self, value: Any) -> str:
        name = f"c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def function_of(self, shape: _s.ObjectShape) -> str:
        """The name the generated code calls ``shape``'s function by (compiled before or in this unit)."""
        name = self.names.get(id(shape))
        if name is None:
            name = self.names[id(shape)] = f"s{len(self.names)}"
            if shape.fn is not None:
                self.namespace[name] = shape.fn
            else:
                self.pending.append(shape)
        return name

    def build(self, root: _s.ObjectShape) -> ShapeFunction:
        name = self.function_of(root)
        if root.fn is not None:
            return root.fn
        while self.pending:
            shape = self.pending.pop()
            self.compiled.append((shape, self.names[id(shape)]))
            self._function(shape, self.names[id(shape)])
        code = compile("\n".join(self.lines), "<gateway response shaping>", "exec")
        exec(code, self.namespace)  # the source holds no client text: see the module docstring
        for shape, fname in self.compiled:
            shape.fn = self.namespace[fname]
        return self.namespace[name]  # type: ignore[no-any-return]

    def _function(self, shape: _s.ObjectShape, name: str) -> None:
        out = self.lines
        out.append(f"def {name}(raw):")
        out.append("  try:")
        out.append("    pass")  # a shape may have no field (only fragments on other types)
        items: list[str] = []
        for i, (rn, kind, arg) in enumerate(shape.fields):
            v = f"v{i}"
            key = repr(rn)
            items.append(f"{key}: {v}")
            self._field(out, v, key, kind, arg)
        # a key the subgraph did not send (never in a well-formed answer): the interpreter reads it as null
        out.append("  except KeyError:")
        out.append(f"    return _object({self.const(shape)}, raw, False)")
        out.append("  return {" + ", ".join(items) + "}")
        out.append("")

    def _reusable(self, shape: _s.ObjectShape, x: str, guarded: bool) -> str | None:
        """A condition under which the raw object ``x`` is its own shaped form (None: ``shape`` never allows it).

        Only shapes of plain leaves qualify: ``x`` must be a dict with exactly the response
        names, in order, and pass every non-null and enum check. Such an object is never
        the target of an entity fetch (those carry ``__typename``, which a shape of plain
        leaves does not select), so nothing merges into it after it is handed out.
        Unless ``guarded``, an enum position holding an unhashable value raises TypeError
        (the caller treats that as "not reusable").
        """
        if not shape.fields:
            return None
        names = tuple(_decoded_key(rn) for rn, _k, _a in shape.fields)
        checks = [f"type({x}) is dict", f"tuple({x}) == {self.const(names)}"]
        for rn, kind, arg in shape.fields:
            value = f"{x}[{rn!r}]"
            if kind == _s._K_SCALAR:
                continue
            if kind == _s._K_SCALAR_NN:
                checks.append(f"{value} is not None")
            elif kind == _s._K_ENUM_NN or kind == _s._K_ENUM:
                # JSON values: only a str can equal a str; None is in the set of a nullable enum
                accepted = frozenset(arg[0]) | ({None} if kind == _s._K_ENUM else set())
                check = f"{value} in {self.const(accepted)}"
                checks.append(f"(type({value}) is str or {value} is None) and {check}" if guarded else check)
            else:
                return None
        return " and ".join(checks)

    def _field(self, out: list[str], v: str, key: str, kind: int, arg: Any) -> None:
        get = f"raw[{key}]"
        if kind == _s._K_SCALAR:
            out.append(f"    {v} = {get}")
        elif kind == _s._K_SCALAR_NN:
            out.append(f"    {v} = {get}")
            out.append(f"    if {v} is None: raise _NeedPaths")
        elif kind == _s._K_ENUM or kind == _s._K_ENUM_NN:
            values, hidden = self.const(arg[0]), self.const(arg[1])
            out.append(f"    {v} = {get}")
            out.append(f"    if type({v}) is not str or {v} not in {values}:")
            out.append(f"      {v} = _enum({v}, {values}, {hidden})")
            if kind == _s._K_ENUM_NN:
                out.append(f"      if {v} is None: raise _NeedPaths")
        elif kind == _s._K_OBJECT or kind == _s._K_OBJECT_NN:
            fn = self.function_of(arg)
            reuse = self._reusable(arg, v, True)
            out.append(f"    {v} = {get}")
            if reuse is not None:
                out.append(f"    if {reuse}: pass")
                out.append(f"    elif isinstance({v}, dict): {v} = {fn}({v})")
            else:
                out.append(f"    if type({v}) is dict or isinstance({v}, dict): {v} = {fn}({v})")
            out.append("    else:")
            out.append("      raise _NeedPaths" if kind == _s._K_OBJECT_NN else f"      {v} = None")
        elif kind == _s._K_LIST_OBJECTS:
            sub, list_nn, item_nn = arg
            fn = self.function_of(sub)
            other = "_need_paths()" if item_nn else "None"
            reuse = self._reusable(sub, "x", False)
            rebuild = f"[{fn}(x) if type(x) is dict or isinstance(x, dict) else {other} for x in {v}]"
            out.append(f"    {v} = {get}")
            if reuse is not None:
                # the list itself is kept when every item is kept
                out.append(f"    if type({v}) is list:")
                out.append("      try:")
                out.append(f"        for x in {v}:")
                out.append(f"          if not ({reuse}): raise TypeError")
                out.append("      except TypeError:")
                out.append(f"        {v} = {rebuild}")
                out.append(f"    elif isinstance({v}, list): {v} = {rebuild}")
            else:
                out.append(f"    if type({v}) is list or isinstance({v}, list): {v} = {rebuild}")
            out.append("    else:")
            out.append("      raise _NeedPaths" if list_nn else f"      {v} = None")
        elif kind == _s._K_CONST:
            out.append(f"    {v} = {self.const(arg)}")
        else:  # _K_VALUE: a type node for the generic completion
            out.append(f"    {v} = _complete({self.const(arg)}, raw.get({key}), False)")


def compile_shape(shape: _s.ObjectShape) -> ShapeFunction:
    """``shape``'s generated function (and those of the shapes below it), compiled once and kept on them."""
    return _Unit().build(shape)
