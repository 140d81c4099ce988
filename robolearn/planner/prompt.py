"""The planner's prompts: template files filled with the instruction, the scene and examples.

Prompts live as files in ``robolearn/planner/prompts/`` so they can be read and changed
without touching code. Two formats share one answer language (calls separated by "; "):

- :class:`PlainFormat` (``plan.txt``) for models robolearn trains itself: ``task: ... objects:
  ... plan:``, then the plan and the end-of-text token.
- :class:`ChatFormat` (``chat_system.txt``, ``chat_user.txt``) for instruct models with a chat
  template: a system turn that lists the skills and the scene's objects, worked examples as
  earlier turns, then the task; the assistant's turn is the plan, closed by the chat's
  end-of-turn token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from robolearn.calls import Call
from robolearn.skills.library import SkillLibrary
from robolearn.skills.params import OBJECT_TYPES
from robolearn.tasks.sampler import TaskInstance

PROMPTS = Path(__file__).resolve().parent / "prompts"
SEPARATOR = "; "
"""Between two calls of a plan, in the model's answer."""


@cache
def template(name: str = "plan") -> str:
    """The prompt template ``prompts/<name>.txt``."""
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")


def _objects(object_names: Sequence[str]) -> str:
    """The scene's objects, alphabetically.

    In scene order each role sits in the same place every time, and a model learns to read the
    roles off the order instead of the instruction.
    """
    return " ".join(sorted(object_names))


def build_prompt(instruction: str, object_names: Sequence[str]) -> str:
    """The plain prompt for an instruction in a scene with these objects.

    The instruction is put in lower case: capitals mean nothing to a plan, and a small model
    taught on few capitalised phrasings read "PUT THE BLUE BLOCK ON THE ORANGE BLOCK" worse.
    """
    return template().format(
        instruction=" ".join(instruction.lower().split()), objects=_objects(object_names)
    )


def task_prompt(task: TaskInstance) -> str:
    """The plain prompt for a task instance."""
    return build_prompt(task.instruction, [o.name for o in task.objects])


def plan_text(plan: Sequence[Call | str]) -> str:
    """A plan as the plain model writes it (after the prompt): `` pick(a); place(a, b)``."""
    return " " + SEPARATOR.join(map(str, plan))


@dataclass(frozen=True)
class Demonstration:
    """A worked example for an instruct model: an instruction, its scene's objects, its plan."""

    instruction: str
    objects: tuple[str, ...]
    """Object names of the example's scene."""
    plan: tuple[str, ...]
    """The right plan, one call per item (``"pick(red_block)"``)."""


class DemonstrationSource(Protocol):
    """Where worked examples for a prompt come from: the library, a correction memory, ..."""

    def demonstrations(
        self, instruction: str, object_names: list[str], k: int
    ) -> list[Demonstration]:
        """Up to ``k`` examples for planning ``instruction`` in a scene of these objects.

        The most useful example comes last: it sits next to the task in the prompt.
        """
        ...


class PlainFormat:
    """``plan.txt``: the format robolearn's own default model is trained on."""

    lead = " "
    """The answer starts with a space after "plan:"."""
    add_special_tokens = True
    """Tokenize the prompt as plain text (the tokenizer adds what it adds, GPT-2 nothing)."""

    def __init__(self, tokenizer: Any) -> None:
        self.end_token_id: int = tokenizer.eos_token_id
        """The token that ends the answer: end of text."""

    def prompt(self, instruction: str, object_names: Sequence[str]) -> str:
        """The text the model continues with a plan."""
        return build_prompt(instruction, object_names)

    def answer(self, plan: Sequence[Call | str]) -> str:
        """What the model should write after the prompt, before its end token."""
        return plan_text(plan)


class ChatFormat:
    """A chat for an instruct model: skills in the system turn, examples, then the task.

    The skills listed are the library's plannable ones as they are when the prompt is built
    (a skill learned since shows up at once); ``source`` gives ``shots`` worked examples per
    prompt (none if it is None or ``shots`` is 0).

    The scene's objects are named once, in the system turn; the user turns hold only the
    task. With an object list in every turn SmolLM2-135M copied the list's order into its
    arguments (6 of 18 paraphrases right against 11 without; the grammar keeps every plan to
    the scene's objects either way).
    """

    lead = ""
    """The assistant's turn starts with the plan itself."""
    add_special_tokens = False
    """The rendered chat holds its special tokens already."""

    def __init__(
        self,
        tokenizer: Any,
        library: SkillLibrary,
        source: DemonstrationSource | None = None,
        shots: int = 3,
    ) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"tokenizer {type(tokenizer).__name__} has no chat template; use PlainFormat"
            )
        self.tokenizer = tokenizer
        self.library = library
        self.source = source
        self.shots = shots
        self.end_token_id = self._end_of_turn()
        """The token that ends the answer: the chat's end of turn."""

    def messages(self, instruction: str, object_names: Sequence[str]) -> list[dict[str, str]]:
        """The chat: system turn, one user/assistant pair per example, the task's user turn."""
        instruction = " ".join(instruction.split())
        examples = (
            self.source.demonstrations(instruction, list(object_names), self.shots)
            if self.source is not None and self.shots > 0
            else []
        )
        skills = "\n".join(
            f"{self.library.get(name).signature}: {self.library.get(name).description}"
            for name in plannable_skills(self.library)
        )
        system = template("chat_system").format(skills=skills, objects=_objects(object_names))
        chat = [{"role": "system", "content": system.strip()}]
        for example in examples:
            chat += [
                {"role": "user", "content": _user(example.instruction)},
                {"role": "assistant", "content": self.answer(example.plan)},
            ]
        return chat + [{"role": "user", "content": _user(instruction)}]

    def prompt(self, instruction: str, object_names: Sequence[str]) -> str:
        """The chat rendered by the model's template, up to the assistant's turn."""
        return self.tokenizer.apply_chat_template(
            self.messages(instruction, object_names), tokenize=False, add_generation_prompt=True
        )

    def answer(self, plan: Sequence[Call | str]) -> str:
        """The assistant's reply: the plan, before the end-of-turn token."""
        return SEPARATOR.join(map(str, plan))

    def _end_of_turn(self) -> int:
        """The id of the token that closes an assistant turn in this chat template.

        Read off the template itself (what follows a reply), so it is right for any chat
        model; it is ``<|im_end|>`` for SmolLM2 and Qwen, whose ``eos_token`` may differ.
        """
        marker = "PLANX"
        chat = [{"role": "user", "content": "u"}, {"role": "assistant", "content": marker}]
        text = self.tokenizer.apply_chat_template(chat, tokenize=False)
        after = text[text.rindex(marker) + len(marker) :]
        ids = self.tokenizer(after, add_special_tokens=False)["input_ids"]
        if ids and ids[0] in self.tokenizer.all_special_ids:
            return ids[0]
        return self.tokenizer.eos_token_id


def plannable_skills(library: SkillLibrary) -> list[str]:
    """The skills a planner may call by name: every parameter names an object or a side.

    Skills with numeric parameters (``move_to(x, y, z)``) are reached through composites.
    """
    return [
        name
        for name in library.names()
        if all(p.type in OBJECT_TYPES or p.type == "side" for p in library.get(name).params)
    ]


def _user(instruction: str) -> str:
    return template("chat_user").format(instruction=instruction).strip()
