"""Worked examples from the library's own task families, for few-shot prompting.

An instruct model has never seen the call language; a handful of solved tasks shows it the
form of a plan and how the words of an instruction become skills and objects. The examples
are the families' own phrasings and oracle plans on a few fixed scenes (even seeds, which the
default model trains on too), written with the library's composite skills where one does the
same (``stack_on(a, b)`` for ``pick(a); place(a, b)``): one call is easier for a small model
to get right than four, and it reads as what the task means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from robolearn.calls import Arg, Call
from robolearn.planner.bootstrap import bootstrap_families
from robolearn.planner.prompt import Demonstration
from robolearn.sim.scene import COLOURS, SceneObject
from robolearn.skills.library import SkillLibrary
from robolearn.skills.params import OBJECT_TYPES, Param
from robolearn.tasks.sampler import phrasings, sample_task
from robolearn.tasks.spec import TaskFamily

SEEDS = range(0, 20, 2)
"""The scenes each template is rendered on."""
_WORD = re.compile(r"[a-z]+")


class LibraryDemonstrations:
    """Every family's phrasings on a few scenes; the ``k`` closest phrasings are shown.

    Closeness is the overlap of the instruction's words with the phrasing's (colours left out:
    they say which objects, not what to do). The closest family then shows most of the
    examples, which a small model follows far better than one example of every family
    (measured on SmolLM2-135M: 11 of 18 paraphrases against 6). Of each phrasing the scene that
    shares the fewest objects with the one being planned is used: a small model copies an
    example's arguments when it can.
    """

    def __init__(
        self,
        library: SkillLibrary | None = None,
        families: Iterable[TaskFamily] | None = None,
        seeds: Iterable[int] = SEEDS,
    ) -> None:
        chosen = bootstrap_families() if families is None else list(families)
        self.pool: dict[tuple[str, int], list[Demonstration]] = {}
        """Examples by (family, template number), one per scene."""
        for family in chosen:
            for seed in seeds:
                for number, example in enumerate(scene_demonstrations(family, seed, library)):
                    self.pool.setdefault((family.name, number), []).append(example)

    def demonstrations(
        self, instruction: str, object_names: list[str], k: int
    ) -> list[Demonstration]:
        """The ``k`` phrasings closest to ``instruction``, the closest last."""
        if k < 1:
            return []
        words, scene = _words(instruction), set(object_names)
        chosen = []
        for examples in self.pool.values():
            example = min(examples, key=lambda e: len(scene & set(e.objects)))
            chosen.append((_overlap(words, _words(example.instruction)), example))
        chosen.sort(key=lambda pair: pair[0])
        return [example for _, example in chosen[-k:]]


def scene_demonstrations(
    family: TaskFamily, seed: int, library: SkillLibrary | None = None
) -> list[Demonstration]:
    """A family's scene solved, in each of the family's phrasings (template order).

    The plan is the oracle's, shortened to the library's composite skills when a library is
    given.
    """
    task = sample_task(family, seed)
    plan = list(task.oracle)
    if library is not None:
        plan = shorten(plan, library, task.objects)
    names = tuple(o.name for o in task.objects)
    return [
        Demonstration(text, names, tuple(map(str, plan)))
        for text in phrasings(family, task.objects)
    ]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in COLOURS}


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def shorten(
    plan: Sequence[Call], library: SkillLibrary, objects: Iterable[SceneObject]
) -> list[Call]:
    """``plan`` with every run of calls that one composite skill does replaced by that call.

    ``pick(a); place(a, b)`` over two blocks becomes ``stack_on(a, b)``; the composites that
    cover the most calls are tried first, and an argument must be of a kind its parameter
    takes. What no composite covers stays as it is.
    """
    kinds = {o.name: o.kind for o in objects}
    shapes = sorted(
        (
            (skill, _unfold(library, Call(skill.name, tuple(_slot(p) for p in skill.params))))
            for skill in library.composites.values()
        ),
        key=lambda pair: -len(pair[1]),
    )
    out, i = [], 0
    while i < len(plan):
        for skill, steps in shapes:
            binding = _match(steps, plan[i : i + len(steps)])
            if binding is not None and _fits(skill.params, binding, kinds):
                out.append(Call(skill.name, tuple(binding[_slot(p)] for p in skill.params)))
                i += len(steps)
                break
        else:
            out.append(plan[i])
            i += 1
    return out


def _slot(param: Param) -> str:
    return f"<{param.name}>"


def _unfold(library: SkillLibrary, call: Call) -> list[Call]:
    """The atomic calls ``call`` stands for, unchecked (its arguments may be slots)."""
    skill = library.composites.get(call.name)
    if skill is None:
        return [call]
    bindings = skill.bindings(call.args)
    return [atomic for step in skill.steps for atomic in _unfold(library, step.bind(bindings))]


def _match(steps: Sequence[Call], calls: Sequence[Call]) -> dict[Arg, Arg] | None:
    """Slot → argument making ``steps`` equal ``calls``, or None if no binding does."""
    if len(steps) != len(calls):
        return None
    binding: dict[Arg, Arg] = {}
    for step, call in zip(steps, calls, strict=True):
        if step.name != call.name or len(step.args) != len(call.args):
            return None
        for want, got in zip(step.args, call.args, strict=True):
            if isinstance(want, str) and want.startswith("<"):
                if binding.setdefault(want, got) != got:
                    return None
            elif want != got:
                return None
    return binding


def _fits(params: Sequence[Param], binding: dict[Arg, Arg], kinds: dict[str, str]) -> bool:
    """Whether every bound argument is an object of a kind its parameter takes, none twice."""
    values = [binding[_slot(p)] for p in params]
    for param, value in zip(params, values, strict=True):
        if param.type in OBJECT_TYPES and kinds.get(value) not in OBJECT_TYPES[param.type]:
            return False
    named = [v for v in values if v in kinds]
    return len(set(named)) == len(named)
