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

import json
import string
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from robolearn.calls import Call
from robolearn.errors import UserError
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
    forces_text = False
    """Whether decoding writes the text the grammar forces unasked (``decoding``): not here.
    robolearn's own tokenizer merges across calls (``"); pick("``), so a forced text's tokens
    alone are not the ones the model learned, and its plans stay exactly the plain loop's."""

    def __init__(self, tokenizer: Any) -> None:
        self.end_token_id: int = tokenizer.eos_token_id
        """The token that ends the answer: end of text."""

    def prompt(self, instruction: str, object_names: Sequence[str]) -> str:
        """The text the model continues with a plan."""
        return build_prompt(instruction, object_names)

    def answer(self, plan: Sequence[Call | str]) -> str:
        """What the model should write after the prompt, before its end token."""
        return plan_text(plan)


CHAT_STYLE_FILE = "robolearn_chat.json"
"""In a model folder: the chat prompt the model was tuned on (:class:`ChatStyle`)."""
CHAT_STYLE_FORMAT = 1

MAX_SHOTS = 32
"""Most worked examples a chat style may ask for (a few fill a small model's context)."""
_PLACES = frozenset({"skills", "objects", "instruction"})
_FORMATTER = string.Formatter()


def _placeholder_problem(text: str) -> str | None:
    """What is wrong with ``text``'s placeholders, or None if each is a plain known name.

    A format spec (``{instruction:>9999999999}``) allocates what it says and a field path
    (``{skills.__class__}``) reads attributes: from a model folder, neither is allowed.
    """
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in _FORMATTER.parse(text)]
    except ValueError as error:
        return f"a malformed placeholder ({error})"
    for name, spec, conversion in fields:
        if name is not None and (name not in _PLACES or spec or conversion):
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return f"the placeholder {{{shown[:60]}}}"
    return None


class ChatStyleError(UserError, ValueError):
    """A model folder's ``robolearn_chat.json`` that cannot be used; says what is wrong."""


@dataclass(frozen=True)
class ChatStyle:
    """What a chat prompt holds: the system turn, the user turn, and how many worked examples.

    ``system`` and ``user`` are texts with ``{skills}``, ``{objects}`` and ``{instruction}``
    where those go. The default (``chat_system.txt``, ``chat_user.txt``, three examples) suits
    an instruct model that has never seen the call language; a model robolearn tuned to plan
    (``planner/tuning.py``) carries the style it learned in its folder (:meth:`read`).
    """

    system: str = field(default_factory=lambda: template("chat_system"))
    user: str = field(default_factory=lambda: template("chat_user"))
    shots: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.shots <= MAX_SHOTS:
            raise ChatStyleError(f"shots must be 0 to {MAX_SHOTS}, got {self.shots}")
        if "{instruction}" not in self.user:
            raise ChatStyleError("the user turn must hold the task: {instruction}")
        for text in (self.system, self.user):
            if problem := _placeholder_problem(text):
                raise ChatStyleError(
                    f"the chat text {text[:200]!r} has {problem}; a chat text may hold only "
                    "{skills}, {objects} and {instruction}"
                )

    @classmethod
    def read(cls, model_dir: Path) -> ChatStyle | None:
        """The style a model folder was tuned on; None if it says none (``CHAT_STYLE_FILE``)."""
        path = Path(model_dir) / CHAT_STYLE_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["format"] != CHAT_STYLE_FORMAT:
                raise ValueError(f"format {data['format']!r}, not {CHAT_STYLE_FORMAT}")
            return cls(str(data["system"]), str(data["user"]), int(data["shots"]))
        except ChatStyleError as error:
            raise ChatStyleError(f"{path}: {error}") from None
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise ChatStyleError(
                f"{path} is not a chat style this robolearn reads ({error}); delete the model "
                "folder to have it made again"
            ) from None

    def write(self, model_dir: Path) -> None:
        """Save the style into a model folder, for :meth:`read`."""
        data = {"format": CHAT_STYLE_FORMAT, **asdict(self)}
        (Path(model_dir) / CHAT_STYLE_FILE).write_text(
            json.dumps(data, indent=2) + "\n", encoding="utf-8"
        )


class ChatFormat:
    """A chat for an instruct model: a system turn, worked examples, then the task.

    ``style`` says what the turns hold (default :class:`ChatStyle`: the skills and the scene's
    objects in the system turn, the task alone in the user turns, three examples). The skills
    listed are the library's plannable ones as they are when the prompt is built (a skill
    learned since shows up at once); ``source`` gives the worked examples (none if it is None
    or the style shows none).

    By default the scene's objects are named once, in the system turn. With an object list in
    every turn SmolLM2-135M copied the list's order into its arguments (6 of 18 paraphrases
    right against 11 without), and with it in the last user turn alone it planned 35 of 72
    development phrasings against 39 (the grammar keeps every plan to the scene's objects
    either way).
    """

    lead = ""
    """The assistant's turn starts with the plan itself."""
    add_special_tokens = False
    """The rendered chat holds its special tokens already."""
    forces_text = True
    """Whether decoding writes the text the grammar forces unasked (``decoding``): yes. A
    pretrained tokenizer splits words apart before it merges, so a forced text's own tokens are
    the ones the model reads and writes. Measured on SmolLM2 tuned: half the forward passes."""

    def __init__(
        self,
        tokenizer: Any,
        library: SkillLibrary,
        source: DemonstrationSource | None = None,
        style: ChatStyle | None = None,
    ) -> None:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                f"tokenizer {type(tokenizer).__name__} has no chat template; use PlainFormat"
            )
        self.tokenizer = tokenizer
        self.library = library
        self.source = source
        self.style = style or ChatStyle()
        self.end_token_id = self._end_of_turn()
        """The token that ends the answer: the chat's end of turn."""

    def messages(self, instruction: str, object_names: Sequence[str]) -> list[dict[str, str]]:
        """The chat: system turn, one user/assistant pair per example, the task's user turn."""
        instruction = " ".join(instruction.split())
        shots = self.style.shots
        examples = (
            self.source.demonstrations(instruction, list(object_names), shots)
            if self.source is not None and shots > 0
            else []
        )
        chat = [{"role": "system", "content": self._fill(self.style.system, object_names, "")}]
        for example in examples:
            chat += [
                {
                    "role": "user",
                    "content": self._fill(self.style.user, example.objects, example.instruction),
                },
                {"role": "assistant", "content": self.answer(example.plan)},
            ]
        user = self._fill(self.style.user, object_names, instruction)
        return [*chat, {"role": "user", "content": user}]

    def _fill(self, text: str, object_names: Sequence[str], instruction: str) -> str:
        """``text`` with the skills, the objects and the instruction where it names them."""
        skills = ""
        if "{skills}" in text:
            skills = "\n".join(
                f"{self.library.get(name).signature}: {self.library.get(name).description}"
                for name in plannable_skills(self.library)
            )
        return text.format(
            skills=skills, objects=_objects(object_names), instruction=instruction
        ).strip()

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
