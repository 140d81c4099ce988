"""An instruction in other words, restated in the words its expert learned.

An expert learns its family from lessons in the stream's words: the family's own phrasings. It
plans those right and other words far less often (unrestated, in the learning benchmark: 100%
of held-out scenes in own words, 0-67% in other words), though the router sends 99% of other
words to the right expert. So once the router has chosen an expert, the instruction is
restated in its family's own words before the expert reads it: its colour words are read
against the scene (``grounding``: "crimson" is the scene's red), every role of the family is
bound to one of the scene's objects by the scene and the order the words name them
(``binding``, as the memory binds a recalled plan), and the family's phrasing nearest in
meaning is rendered in the bound objects' colours.

An instruction already in one of the family's phrasings is left as it is, and so is one whose
binding the scene and words do not settle (the expert then reads the words as they were).
"""

from __future__ import annotations

from collections.abc import Sequence

from robolearn.learn.binding import bind, named_roles
from robolearn.learn.grounding import ground
from robolearn.learn.meaning import Meaning, lifted_phrasings
from robolearn.sim.scene import SceneObject
from robolearn.tasks.spec import TaskFamily


def restate(
    family: TaskFamily, instruction: str, objects: Sequence[SceneObject], meaning: Meaning
) -> str | None:
    """``instruction`` in ``family``'s own words for this scene; None to leave it as it is."""
    grounding = ground(instruction, {o.colour for o in objects})
    own = lifted_phrasings(family)
    if grounding.lifted in own:
        return None
    binding = bind(family, family.oracle, grounding, objects, meaning)
    if binding is None:
        return None
    nearness = meaning.similarities(grounding.lifted, own)
    for index in sorted(range(len(own)), key=lambda i: -float(nearness[i])):
        template = family.instructions[index]
        if named_roles(template) <= binding.objects.keys():
            return binding.phrasing(family, template)
    return None
