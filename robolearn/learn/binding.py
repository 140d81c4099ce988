"""Which object of a new scene plays each role of a remembered plan.

A correction's plan names the objects of its own scene. Lifted to the roles of its family
(``red_block`` is ``top``), it can be replayed in another scene of that family once each role
is bound to an object there. The scene says much: a role's kind, what it starts on, what rests
on it and which roles share a colour are kept by every binding considered. The words say the
rest: each of the family's phrasings, rendered with a binding's colours, names colours in an
order, and the binding whose order agrees best with the order the instruction names them in
wins, among those that contradict the fewest of what the words set on what ("cyan on top of
purple", "pink at the bottom", ``relations``). When two bindings that set different goals agree
equally well, there is no binding: the memory leaves such a scene to the planner rather than
guess.

Measured on hand-written instructions of every family (the calibration set,
``tests/fixtures/recall_calibration.json``): 93 of 96 bound to the oracle's goal (89 without
``relations``, 90 with its first reading of "on" and "under" alone), none refused.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from robolearn.calls import Call
from robolearn.learn.grounding import PLACEHOLDER, Grounding
from robolearn.learn.meaning import Meaning, lifted_phrasings
from robolearn.learn.relations import contradictions, goal_stands_on, read
from robolearn.sim.scene import SceneObject
from robolearn.skills.params import SIDES
from robolearn.tasks.sampler import render
from robolearn.tasks.spec import ObjectRole, TaskFamily

_WORDS = frozenset(SIDES)
"""The words a call may take besides objects."""
MAX_BINDINGS = 50_000
"""Bindings tried at most (eight interchangeable blocks have 40,320); past it there is none."""
MAX_TIED = 24
"""Bindings tied on the order of colours that the meaning of whole sentences may tell apart."""
TIE_MARGIN = 0.005
"""How much nearer in meaning the best tied binding must read than the next."""
_EPSILON = 1e-6


@dataclass(frozen=True)
class Binding:
    """Roles bound to a scene's objects, and how well the words agree with it."""

    objects: dict[str, str]
    """Role → object name."""
    agreement: float
    """How closely the order of colours the instruction names matches the best phrasing's
    under this binding (longest common subsequence over the longer, 0 to 1), times that
    phrasing's nearness in meaning to the instruction."""

    def phrasing(self, family: TaskFamily, template: str) -> str:
        """``template`` of ``family`` in the bound colours ("coloured" for an unbound role)."""
        colours = {r.role: PLACEHOLDER for r in family.objects}
        colours |= {role: name.split("_", 1)[0] for role, name in self.objects.items()}
        return render(family, template, colours)

    def plan(self, lifted: Sequence[Call]) -> list[Call]:
        """``lifted`` (a plan over roles) with each role replaced by its object."""
        return [
            Call(c.name, tuple(self.objects.get(a, a) if isinstance(a, str) else a for a in c.args))
            for c in lifted
        ]


def lift_plan(plan: Sequence[Call], roles: dict[str, str]) -> tuple[Call, ...] | None:
    """``plan`` over the roles that ``roles`` (role → object) names.

    None if it names an object that plays no role (or any word but a side).
    """
    by_object = {name: role for role, name in roles.items()}
    lifted = []
    for call in plan:
        args = tuple(by_object.get(a, a) if isinstance(a, str) else a for a in call.args)
        if any(isinstance(a, str) and a not in roles and a not in _WORDS for a in args):
            return None
        lifted.append(Call(call.name, args))
    return tuple(lifted)


def plan_roles(lifted: Sequence[Call], family: TaskFamily) -> set[str]:
    """The family's roles that a lifted plan uses."""
    roles = {r.role for r in family.objects}
    return {a for c in lifted for a in c.args if isinstance(a, str) and a in roles}


def bind(
    family: TaskFamily,
    lifted: Sequence[Call],
    grounding: Grounding,
    objects: Sequence[SceneObject],
    meaning: Meaning | None = None,
) -> Binding | None:
    """The one binding of ``lifted``'s roles to ``objects`` that the scene and words support.

    Each binding the scene allows is scored by its best phrasing: how closely the order of
    colours that phrasing names under the binding matches the instruction's, weighted (given
    ``meaning``) by how near the phrasing's meaning is to the instruction's, so "from the bottom
    up" and "on ... on" are not read alike. Bindings still tied are told apart by the meaning
    of whole sentences: each phrasing rendered in the binding's colours against the instruction
    in the scene's colour names. Bindings that set the same goal (the family's success
    condition: any order of the blocks clears a table) count as one. None when no binding fits
    the scene or a tie between goals remains.
    """
    needed = plan_roles(lifted, family)
    scene_colours = {o.colour for o in objects}
    named = tuple(c for c in grounding.colours if c in scene_colours)
    weights = [1.0] * len(family.instructions)
    if meaning is not None:
        near = meaning.similarities(grounding.lifted, lifted_phrasings(family))
        weights = [max(0.0, float(s)) for s in near]
    colour_of = {o.name: o.colour for o in objects}
    scene = [(o.colour, colour_of[o.on]) for o in objects if o.on in colour_of]
    said = read(grounding)
    best: dict[frozenset[Call], tuple[int, Binding]] = {}  # by the goal it sets: one a goal
    for count, objects_by_role in enumerate(_candidates(family, needed, objects, set(named))):
        if count >= MAX_BINDINGS:
            return None
        colour = {role: name.split("_", 1)[0] for role, name in objects_by_role.items()}
        agreement = max(
            w * _agreement(_order(t, colour), named)
            for w, t in zip(weights, family.instructions, strict=True)
        )
        binding = Binding(objects_by_role, agreement)
        goal = frozenset(binding.plan(family.success))
        conflicts = contradictions(said, scene + goal_stands_on(goal, colour_of)) if said else 0
        if goal not in best or (-conflicts, agreement) > (-best[goal][0], best[goal][1].agreement):
            best[goal] = (conflicts, binding)
    if not best:
        return None
    fewest = min(conflicts for conflicts, _ in best.values())
    ranked = sorted((b for c, b in best.values() if c == fewest), key=lambda b: -b.agreement)
    tied = [b for b in ranked if b.agreement >= ranked[0].agreement - _EPSILON]
    if len(tied) == 1:
        return tied[0]
    if meaning is None or len(tied) > MAX_TIED:
        return None
    return _closest_in_meaning(family, tied, grounding, meaning)


def _closest_in_meaning(
    family: TaskFamily, tied: list[Binding], grounding: Grounding, meaning: Meaning
) -> Binding | None:
    """The tied binding whose phrasings, in its colours, read most like the instruction."""
    scores = []
    for binding in tied:
        texts = [binding.phrasing(family, t) for t in family.instructions]
        scores.append(float(meaning.similarities(grounding.canonical, texts).max()))
    order = sorted(range(len(tied)), key=lambda i: -scores[i])
    if scores[order[0]] - scores[order[1]] < TIE_MARGIN:
        return None
    return tied[order[0]]


def can_bind(
    family: TaskFamily,
    lifted: Sequence[Call],
    grounding: Grounding,
    objects: Sequence[SceneObject],
) -> bool:
    """Whether some binding of ``lifted``'s roles fits the scene and the colours named."""
    named = set(grounding.colours) & {o.colour for o in objects}
    return next(_candidates(family, plan_roles(lifted, family), objects, named), None) is not None


def _candidates(
    family: TaskFamily, needed: set[str], objects: Sequence[SceneObject], named: set[str]
) -> Iterator[dict[str, str]]:
    """Every injective role → object map the scene allows, given the colours the words name.

    Every colour named must be a bound object's, and every role that each of the family's
    phrasings names must be bound to an object whose colour is named: a family's own words
    always say which objects those are, so words that do not are not its task.
    """
    spec = {r.role: r for r in family.objects}
    order = sorted(needed, key=lambda r: (spec[r].on is None, r))  # stacked roles fix most
    by_name = {o.name: o for o in objects}
    carries = {o.on: o.name for o in objects if o.on is not None}
    carried_roles = {r.on for r in family.objects if r.on is not None}
    always = needed & set.intersection(*(named_roles(t) for t in family.instructions))

    def fits(role: ObjectRole, obj: SceneObject, chosen: dict[str, str]) -> bool:
        if obj.kind != role.kind or obj.name in chosen.values():
            return False
        if (role.on is None) != (obj.on is None):
            return False
        if role.on is not None:
            support = by_name.get(obj.on or "")
            if support is None or support.kind != spec[role.on].kind:
                return False
            if role.on in chosen and chosen[role.on] != obj.on:
                return False
        if (role.role in carried_roles) != (obj.name in carries):
            return False
        for other, name in chosen.items():
            if spec[other].on == role.role and by_name[name].on != obj.name:
                return False
            tied = role.same_colour_as == other or spec[other].same_colour_as == role.role
            if tied and by_name[name].colour != obj.colour:
                return False
        return True

    def extend(i: int, chosen: dict[str, str]) -> Iterator[dict[str, str]]:
        if i == len(order):
            bound = {by_name[n].colour for n in chosen.values()}
            if named <= bound and {by_name[chosen[r]].colour for r in always} <= named:
                yield dict(chosen)
            return
        role = spec[order[i]]
        for obj in objects:
            if fits(role, obj, chosen):
                chosen[role.role] = obj.name
                yield from extend(i + 1, chosen)
                del chosen[role.role]

    yield from extend(0, {})


def named_roles(template: str) -> set[str]:
    """The roles a template names."""
    return {f.partition(".")[0] for _, f, _, _ in string.Formatter().parse(template) if f}


def _order(template: str, colour: dict[str, str]) -> tuple[str, ...]:
    """The colours a template names under a binding, in order (``?`` for an unbound role)."""
    fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    return tuple(colour.get(f.partition(".")[0], "?") for f in fields)


def _agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Longest common subsequence of ``a`` and ``b`` over the longer's length (1: the same)."""
    if not a or not b:
        return 0.0
    row = [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], (previous + 1 if x == y else max(row[j], row[j - 1]))
    return row[-1] / max(len(a), len(b))
