"""A plan in the fewest calls the library's composite skills allow: what a round teaches.

A correction is a list of atomic calls (``pick(a); place(a, bin); pick(b); ...``). Where a
stretch of it is exactly what a composite skill does (``put_in(a, bin)``), with arguments of the
types its parameters take, the stretch becomes that one call. The plan does the same thing (the
executor expands it back to the same atomic calls) in fewer steps, and a small model loses
count of long runs of like calls far sooner than of short ones. Composites that do more come
first; what matches none stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

from robolearn.calls import Arg, Call
from robolearn.skills.composite import CompositeSkill
from robolearn.skills.library import SkillLibrary
from robolearn.skills.params import OBJECT_TYPES

_SLOT = "\0"
"""Marks a parameter standing in an unfolded composite (no object name holds it)."""


def compress(plan: Sequence[Call], library: SkillLibrary) -> tuple[Call, ...]:
    """``plan`` with every stretch a composite skill does written as one call of it."""
    shapes = sorted(
        ((skill, _unfold(library, skill)) for skill in library.composites.values()),
        key=lambda pair: -len(pair[1]),
    )
    shorter: list[Call] = []
    i = 0
    while i < len(plan):
        for skill, steps in shapes:
            call = _match(skill, steps, plan[i : i + len(steps)])
            if call is not None:
                shorter.append(call)
                i += len(steps)
                break
        else:
            shorter.append(plan[i])
            i += 1
    return tuple(shorter)


def _unfold(library: SkillLibrary, skill: CompositeSkill) -> list[Call]:
    """The atomic calls ``skill`` stands for, its parameters as slots (NUL, then the name)."""
    slots = {p.name: _SLOT + p.name for p in skill.params}
    calls = [step.bind(slots) for step in skill.steps]
    atomic: list[Call] = []
    while calls:
        call = calls.pop(0)
        inner = library.composites.get(call.name)
        if inner is None:
            atomic.append(call)
        else:
            calls[:0] = [step.bind(inner.bindings(call.args)) for step in inner.steps]
    return atomic


def _match(skill: CompositeSkill, steps: Sequence[Call], window: Sequence[Call]) -> Call | None:
    """The call of ``skill`` that does exactly ``window``, or None."""
    if len(window) != len(steps):
        return None
    bound: dict[str, Arg] = {}
    for step, call in zip(steps, window, strict=True):
        if step.name != call.name or len(step.args) != len(call.args):
            return None
        for want, have in zip(step.args, call.args, strict=True):
            if isinstance(want, str) and want.startswith(_SLOT):
                if bound.setdefault(want[1:], have) != have:
                    return None
            elif want != have:
                return None
    params = skill.params
    if set(bound) != {p.name for p in params}:
        return None
    named = []
    for param in params:
        value, kinds = bound[param.name], OBJECT_TYPES.get(param.type)
        if kinds is not None:
            if not (isinstance(value, str) and _kind(value) in kinds):
                return None
            named.append(value)
    if len(set(named)) != len(named):  # one object in two parameters: the executor refuses it
        return None
    return Call(skill.name, tuple(bound[p.name] for p in params))


def _kind(name: str) -> str:
    """An object's kind, from its name (``red_block``: ``block``)."""
    return name.rsplit("_", 1)[-1]
