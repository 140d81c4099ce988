"""Thresholds for recall and routing, calibrated on labelled pairs written for the purpose.

``tests/fixtures/recall_calibration.json`` holds instructions written by hand, each asked in a
seeded scene (even seeds) of one family: the task of that family in other words than its
templates, or (``task`` null) something no family does, in words like theirs. Paired with every
family's own words (its templates), an entry gives one pair of the same task in other words and
pairs of a different task in similar words: one for every other family whose plan can be bound
in the scene to the objects the words name (any other is never recalled, however near).

The memory recalls a family's correction when that family is the nearest in meaning
(``meaning.decide``: near enough, clearly nearer than the next). Calibration picks the scene
bonus, threshold and margin that recall the most same-task pairs while at most
``MAX_FALSE_RATE`` of the different-task pairs are recalled. The router (base model or one
expert, the new families' experts here) picks its own scene bonus and the threshold under
which an expert's nearest prototype sends an instruction to the base model, for the most
entries routed right.

The fixture is calibration data only: no test set, training data or prompt text.
``python -m robolearn.learn.calibration`` prints what it gives; the constants in ``meaning.py``,
``memory.py`` and ``router.py`` are what it printed (a test checks that they still are).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from robolearn.errors import UserError
from robolearn.learn.binding import can_bind
from robolearn.learn.grounding import ground
from robolearn.learn.meaning import Meaning, Nearness, decide, family_prototypes
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import TaskFamily, load_families

MAX_FALSE_RATE = 0.02
"""The share of different-task pairs the memory may recall (issue 14's target)."""
CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "tests/fixtures/recall_calibration.json"
"""The labelled instructions, in a checkout (calibration is a developer's step)."""
BONUSES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
MARGINS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1)
BASE = "base"


class CalibrationFileError(UserError, ValueError):
    """A calibration file that cannot be used; says which entry and why."""


@dataclass(frozen=True)
class Asked:
    """An instruction asked in a family's seeded scene, labelled with the task it asks for."""

    task: str | None
    """The family whose task it asks for; None: a task no family does."""
    scene: str
    seed: int
    instruction: str


@dataclass(frozen=True)
class Scored:
    """One entry: its families by nearness (for each scene bonus), and which can be bound."""

    asked: Asked
    ranked: dict[float, list[Nearness]]
    bindable: frozenset[str]
    """The families whose plan can be bound in the scene to the objects the words name."""


@dataclass(frozen=True)
class Rule:
    """A decision rule and how it did on the calibration pairs."""

    scene_bonus: float
    threshold: float
    margin: float
    recalled: int
    """Same-task pairs recalled."""
    same: int
    false: int
    """Different-task pairs recalled."""
    different: int


def read_asked(path: Path = CALIBRATION_FILE) -> list[Asked]:
    """The calibration file's entries."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["asked"]
        return [
            Asked(e["task"], str(e["scene"]), int(e["seed"]), str(e["instruction"]))
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CalibrationFileError(f"cannot read calibration pairs from {path}: {error}") from None


def score(
    asked: Sequence[Asked], families: dict[str, TaskFamily], meaning: Meaning
) -> list[Scored]:
    """Every entry ranked against every family's own words, for each scene bonus."""
    prototypes = family_prototypes(families.values(), meaning)
    scored = []
    for entry in asked:
        scene = sample_task(families[entry.scene], entry.seed).objects
        grounding = ground(entry.instruction, {o.colour for o in scene})
        ranked = {b: prototypes.rank(grounding.lifted, scene, meaning, b) for b in BONUSES}
        bindable = frozenset(
            name for name, f in families.items() if can_bind(f, f.oracle, grounding, scene)
        )
        scored.append(Scored(entry, ranked, bindable))
    return scored


def recall_rule(scored: Sequence[Scored], max_false_rate: float = MAX_FALSE_RATE) -> Rule:
    """The rule that recalls the most same-task pairs within the false-recall budget."""
    same = sum(s.asked.task in s.bindable for s in scored)
    different = sum(len(s.bindable - {s.asked.task}) for s in scored)
    rules = []
    for bonus, threshold, margin in itertools.product(BONUSES, THRESHOLDS, MARGINS):
        recalled = false = 0
        for s in scored:
            chosen = decide(s.ranked[bonus], threshold, margin)
            if chosen is None or chosen.label not in s.bindable:
                continue
            recalled += chosen.label == s.asked.task
            false += chosen.label != s.asked.task
        rules.append(Rule(bonus, threshold, margin, recalled, same, false, different))
    allowed = [r for r in rules if r.false <= max_false_rate * r.different]
    return max(allowed, key=lambda r: (r.recalled, -r.false, r.threshold, r.margin))


def route_rule(
    scored: Sequence[Scored], families: dict[str, TaskFamily]
) -> tuple[float, float, int]:
    """The scene bonus and expert threshold that route the most entries right, and how many.

    An entry of a family the default model never saw belongs to that family's expert; any
    other entry to the base model.
    """

    def label(name: str | None) -> str:
        return name if name is not None and not families[name].bootstrap else BASE

    rules = []
    for bonus, threshold in itertools.product(BONUSES, THRESHOLDS):
        right = 0
        for s in scored:
            ranked = s.ranked[bonus]
            chosen = BASE
            if ranked and label(ranked[0].label) != BASE and ranked[0].similarity >= threshold:
                chosen = ranked[0].label
            right += chosen == label(s.asked.task)
        rules.append((bonus, threshold, right))
    # Of rules as good, the lowest threshold (the nearest expert when in doubt: it is asked in
    # its family's own words, ``restate``), then the scene trusted most: an expert's scenes are
    # all of one shape. 0.5 and 0.6 route 101 of the 110 entries right; on the development sets
    # in other words (paraphrases_dev*.json, with the experts of a benchmark run) 0.5 routed
    # 108 of 108 right, 0.6 106 (two put_between instructions at 0.57 and 0.60 went to the base
    # model, which never learned the family).
    return max(rules, key=lambda r: (r[2], -r[1], r[0]))


def main() -> None:
    """Print the rules the calibration file gives."""
    families = load_families()
    scored = score(read_asked(), families, Meaning())
    rule = recall_rule(scored)
    print(
        f"recall: scene bonus {rule.scene_bonus}, threshold {rule.threshold}, margin "
        f"{rule.margin}: same task in other words {rule.recalled}/{rule.same} recalled, "
        f"different task in similar words {rule.false}/{rule.different} recalled"
    )
    bonus, threshold, right = route_rule(scored, families)
    print(
        f"routing: scene bonus {bonus}, expert threshold {threshold}: "
        f"{right}/{len(scored)} routed right"
    )


if __name__ == "__main__":
    main()
