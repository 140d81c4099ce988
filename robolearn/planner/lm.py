"""The language-model planner: a Hugging Face causal LM writes the plan, constrained to the DSL.

Any local causal-LM folder works (the default one ``robolearn bootstrap`` trains, SmolLM2
converted from its GGUF, or a Qwen or Llama checkpoint a user has). A model whose tokenizer has
a chat template is prompted as a chat, with worked examples (``prompt.ChatFormat``); any other
with the plain prompt it was trained on (``prompt.PlainFormat``). Either way decoding is
constrained to calls of skills that exist with objects of the scene, and the answer goes
through the same parser. Nothing is ever downloaded: models load with ``local_files_only``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.calls import Call, CallSyntaxError, parse_calls
from robolearn.errors import UserError
from robolearn.hf import load_causal_lm, offline_loading
from robolearn.planner import PlanningError
from robolearn.planner.adapter_check import check_adapter_folder
from robolearn.planner.demonstrations import LibraryDemonstrations
from robolearn.planner.folder_check import load_errors
from robolearn.planner.identity import check_adapter_fits, model_identity
from robolearn.planner.model_check import check_model_folder
from robolearn.planner.prompt import (
    SEPARATOR,
    ChatFormat,
    ChatStyle,
    DemonstrationSource,
    PlainFormat,
)
from robolearn.skills.executor import MAX_PLAN_STEPS
from robolearn.text import quote, text_problem

if TYPE_CHECKING:
    import torch

    from robolearn.planner.decoding import Steps
    from robolearn.planner.grammar import ConstrainedPlanProcessor
    from robolearn.sim.scene import SceneObject
    from robolearn.skills.library import SkillLibrary
    from robolearn.tasks.sampler import TaskInstance


class ModelNotFoundError(UserError, FileNotFoundError):
    """No usable model folder where one was expected; says how to get one."""


class PlanParseError(PlanningError, ValueError):
    """The model's answer is not a plan; the message quotes it."""


class InstructionError(PlanningError, ValueError):
    """An instruction no planner can read: empty, binary or past ``text.MAX_TEXT_CHARS``."""


def check_instruction(instruction: str) -> None:
    """Raise InstructionError unless ``instruction`` is text a prompt can hold."""
    if problem := text_problem(instruction, "the instruction"):
        raise InstructionError(
            f"{problem}; say in words what the robot should do, e.g. "
            "'stack the red block on the blue one'"
        )


def parse_answer(answer: str) -> list[Call]:
    """The calls of a model's answer; PlanParseError, quoting it, if it is not a plan.

    Constrained decoding makes this a formality for a plan that ended; it is what stands
    between any other text and the executor. Whether the calls fit the library and the scene
    is ``executor.validate_plan``'s check.
    """
    try:
        calls = parse_calls(answer.replace(SEPARATOR, "\n"))
    except CallSyntaxError as error:
        raise PlanParseError(f"the model's answer {quote(answer)} is not a plan: {error}") from None
    if not calls:
        raise PlanParseError(f"the model's answer {quote(answer)} holds no call")
    return calls


class LMPlanner:
    """Plans with a causal LM from a local folder, one task at a time, greedily.

    A chat model is prompted in the style its folder says it was tuned on
    (``prompt.ChatStyle.read``), else with the skills and worked examples of the default
    ``ChatStyle``. ``demonstrations`` gives those examples (default: the library's families,
    ``LibraryDemonstrations``), ``shots`` of them per prompt (default: the style's); a plain
    model has none.
    """

    name = "lm"

    def __init__(
        self,
        model_dir: Path,
        library: SkillLibrary,
        threads: int = 1,
        demonstrations: DemonstrationSource | None = None,
        shots: int | None = None,
    ) -> None:
        if not (Path(model_dir) / "config.json").is_file():
            raise ModelNotFoundError(
                f"no model at {model_dir} (config.json missing); run 'robolearn bootstrap' to "
                "build the default one, or pass --model with a preset (smollm2) or a local "
                "Hugging Face folder"
            )
        check_model_folder(Path(model_dir))
        import torch

        torch.set_num_threads(threads)
        self.model_dir = Path(model_dir)
        self.library = library
        with load_errors(model_dir):
            self.tokenizer, self.model = load_causal_lm(Path(model_dir))
        self.model.eval()
        self.adapter: Path | None = None
        """The adapter planning now (None: the base model alone)."""
        self._adapters: dict[tuple[str, int], str] = {}
        """Adapters loaded into the model: (folder, config's mtime) -> peft adapter name."""
        self.explanation = ""
        self.doubt: float | None = None
        """How unsure the model was of its last plan (``decoding.Decoded.doubt``, 0 to 1)."""
        self._steps_by: dict[str | None, Steps] = {}
        """Decoding steps by the peft adapter in use (None: the base model alone)."""
        self._steps = self._steps_for(None)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.format: PlainFormat | ChatFormat = PlainFormat(self.tokenizer)
        """How prompts are written and answers end, by what the tokenizer offers."""
        if getattr(self.tokenizer, "chat_template", None):
            style = ChatStyle.read(self.model_dir) or ChatStyle()
            if shots is not None:
                style = replace(style, shots=shots)
            source = demonstrations
            if source is None and style.shots > 0:
                source = LibraryDemonstrations(library)
            self.format = ChatFormat(self.tokenizer, library, source, style)
        self._vocabulary: list[str] | None = None
        self.identity = model_identity(self.model_dir)
        """Which base model this is (``identity.model_identity``): adapters are checked
        against it."""

    def use_adapter(self, adapter_dir: Path | None) -> None:
        """Plan with a peft LoRA adapter on the base model from now on (None: the base alone).

        Every adapter loads once into the one model (peft's multi-adapter ``load_adapter``);
        switching to one already loaded is ``set_adapter``, and to the base model disables the
        adapter layers: no reload, so a router may switch experts plan by plan.
        """
        if adapter_dir is None:
            if self.adapter is not None:
                self.model.base_model.disable_adapter_layers()
            self.adapter = None
            self._steps = self._steps_for(None)
            return
        adapter_dir = Path(adapter_dir)
        name = self._adapter_name(adapter_dir)
        self.model.set_adapter(name, inference_mode=True)
        self.model.base_model.enable_adapter_layers()
        self.model.eval()
        self.adapter = adapter_dir
        self._steps = self._steps_for(name)

    def _steps_for(self, name: str | None) -> Steps:
        """The decoding steps of the weights in use: the base model's or one adapter's.

        Each keeps a key/value cache of its own weights, so a router switching experts plan by
        plan reuses each one's prompt prefix.
        """
        if name not in self._steps_by:
            self._steps_by[name] = self._new_steps()
        return self._steps_by[name]

    def _adapter_name(self, adapter_dir: Path) -> str:
        """The peft name of the adapter in ``adapter_dir``, loaded into the model if it is not."""
        config = adapter_dir / "adapter_config.json"
        if not config.is_file():
            raise ModelNotFoundError(
                f"no LoRA adapter at {adapter_dir} (adapter_config.json missing)"
            )
        key = (str(adapter_dir.resolve()), config.stat().st_mtime_ns)
        if key in self._adapters:
            return self._adapters[key]
        check_adapter_fits(adapter_dir, self.identity, self.model_dir)
        check_adapter_folder(adapter_dir)
        from peft import PeftModel

        name = f"adapter{len(self._adapters)}"
        with offline_loading(), load_errors(adapter_dir, "adapter"):
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(adapter_dir, adapter_name=name, is_trainable=False)
            else:  # the base model's layers are wrapped in place: its steps are stale
                self.model = PeftModel.from_pretrained(
                    self.model, adapter_dir, adapter_name=name, is_trainable=False
                )
                self._steps_by.clear()
        self._adapters[key] = name
        return name

    def _new_steps(self) -> Steps:
        """The model's forward steps for decoding; the cache they keep is of these weights."""
        from robolearn.planner.decoding import CausalSteps

        return CausalSteps(self.model)

    def plan(self, task: TaskInstance) -> list[Call]:
        """The plan for ``task``: calls of library skills on the task's objects."""
        return self.plan_instruction(task.instruction, task.objects)

    def plan_instruction(self, instruction: str, objects: tuple[SceneObject, ...]) -> list[Call]:
        """The plan for any instruction in a scene with these objects."""
        check_instruction(instruction)
        return self.plan_text(self.format.prompt(instruction, [o.name for o in objects]), objects)

    def encode(self, prompt: str) -> torch.Tensor:
        """The prompt's token ids (a 1 x n tensor), as the model is given them."""
        return self.tokenizer(
            prompt, return_tensors="pt", add_special_tokens=self.format.add_special_tokens
        )["input_ids"]

    def plan_text(self, prompt: str, objects: tuple[SceneObject, ...]) -> list[Call]:
        """Generate after ``prompt`` under the grammar of this scene, then parse."""
        from robolearn.planner.decoding import constrained_greedy

        task = self.decoding_task(prompt, objects)
        decoded = constrained_greedy(
            self._steps,
            task.prompt_ids,
            task.processor.allowed,
            task.budget,
            task.end,
            task.processor.forced if self.format.forces_text else None,
        )
        self.doubt = decoded.doubt
        calls = parse_answer(self.tokenizer.decode(list(decoded.ids), skip_special_tokens=True))
        self.explanation = f"language model {self.model_dir.name}" + (
            f" with LoRA adapter {self.adapter.name}" if self.adapter else ""
        )
        return calls

    def plan_tasks(self, tasks: Sequence[TaskInstance], batch_size: int = 16) -> list[PlanResult]:
        """:meth:`plan_many` of tasks in their own instructions (what an evaluator batches)."""
        return self.plan_many([(t.instruction, t.objects) for t in tasks], batch_size)

    def plan_many(
        self, requests: Sequence[tuple[str, tuple[SceneObject, ...]]], batch_size: int = 16
    ) -> list[PlanResult]:
        """Plans for many (instruction, objects) at once, decoded ``batch_size`` at a time.

        A benchmark or a gate that plans hundreds of scenes pays for a few forward passes per
        batch instead of a few per plan (``decoding.batched_greedy``). A request that cannot
        be planned gets its error in its result; the others are planned all the same.
        """
        from robolearn.planner.decoding import Request, batched_greedy

        results: list[PlanResult | None] = [None] * len(requests)
        tasks: list[tuple[int, DecodingTask]] = []
        for i, (instruction, objects) in enumerate(requests):
            try:
                check_instruction(instruction)
                prompt = self.format.prompt(instruction, [o.name for o in objects])
                tasks.append((i, self.decoding_task(prompt, objects)))
            except PlanningError as error:
                results[i] = PlanResult([], None, error)
        for start in range(0, len(tasks), batch_size):
            chunk = tasks[start : start + batch_size]
            decoded = batched_greedy(
                self.model,
                [
                    Request(
                        t.prompt_ids,
                        t.processor.allowed,
                        t.budget,
                        t.processor.forced if self.format.forces_text else None,
                    )
                    for _, t in chunk
                ],
                self.format.end_token_id,
                self.tokenizer.pad_token_id,
            )
            for (i, _), answer in zip(chunk, decoded, strict=True):
                text = self.tokenizer.decode(list(answer.ids), skip_special_tokens=True)
                try:
                    results[i] = PlanResult(parse_answer(text), answer.doubt)
                except PlanParseError as error:
                    results[i] = PlanResult([], answer.doubt, error)
        return [r for r in results if r is not None]

    def decoding_task(self, prompt: str, objects: tuple[SceneObject, ...]) -> DecodingTask:
        """What decoding a plan after ``prompt`` in a scene of ``objects`` needs."""
        from robolearn.planner.grammar import (
            ConstrainedPlanProcessor,
            PlanGrammar,
            call_vocabulary,
            decode_vocabulary,
        )

        calls = call_vocabulary(self.library, {o.name: o for o in objects})
        prompt_ids = self.encode(prompt)[0].tolist()
        length = len(prompt_ids)
        eos, lead = self.format.end_token_id, self.format.lead
        # Every allowed token adds at least a character, so a plan of at most `room`
        # characters always ends (with EOS) inside the model's context window: the grammar
        # takes as many calls as surely fit.
        window = getattr(self.model.config, "max_position_embeddings", None) or getattr(
            self.model.config, "n_positions", 2048
        )
        room, longest = window - length - 1, max(len(call) for call in calls) + len(SEPARATOR)
        max_calls = min(MAX_PLAN_STEPS, (room - len(lead) + len(SEPARATOR)) // longest)
        if max_calls < 1:
            raise PlanParseError(
                f"the prompt ({length} tokens) leaves no room for a plan in "
                f"the model's context window of {window} tokens; use a model "
                "with a longer one"
            )
        grammar = PlanGrammar(calls, max_calls=max_calls)
        if self._vocabulary is None:
            self._vocabulary = decode_vocabulary(self.tokenizer)
        processor = ConstrainedPlanProcessor(
            grammar, self.tokenizer, length, eos, lead=lead, vocabulary=self._vocabulary
        )
        return DecodingTask(prompt_ids, processor, len(lead) + grammar.longest_plan + 1, eos)


@dataclass(frozen=True)
class PlanResult:
    """One plan of :meth:`LMPlanner.plan_many`: its calls, how unsure the model was, or why not."""

    calls: list[Call]
    """Empty when there is no plan (``error`` says why)."""
    doubt: float | None
    """As :attr:`LMPlanner.doubt`; None when nothing was decoded."""
    error: PlanningError | None = None


@dataclass(frozen=True)
class DecodingTask:
    """One plan to decode: the prompt's ids, the grammar's mask, and where to stop."""

    prompt_ids: list[int]
    processor: ConstrainedPlanProcessor
    """Its ``allowed(generated)`` gives the ids the grammar allows next."""
    budget: int
    """Tokens that surely hold the longest plan and its end token."""
    end: int
    """The token that ends the answer."""
