"""The language-model planner: a Hugging Face causal LM writes the plan, constrained to the DSL.

Any local causal-LM folder works (the default one ``robolearn bootstrap`` trains, SmolLM2
converted from its GGUF, or a Qwen or Llama checkpoint a user has). A model whose tokenizer has
a chat template is prompted as a chat, with worked examples (``prompt.ChatFormat``); any other
with the plain prompt it was trained on (``prompt.PlainFormat``). Either way decoding is
constrained to calls of skills that exist with objects of the scene, and the answer goes
through the same parser. Nothing is ever downloaded: models load with ``local_files_only``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from robolearn.calls import Call, CallSyntaxError, parse_calls
from robolearn.errors import UserError
from robolearn.hf import offline_loading
from robolearn.planner import PlanningError
from robolearn.planner.demonstrations import LibraryDemonstrations
from robolearn.planner.identity import check_adapter_fits, model_identity
from robolearn.planner.prompt import SEPARATOR, ChatFormat, DemonstrationSource, PlainFormat
from robolearn.skills.executor import MAX_PLAN_STEPS
from robolearn.text import quote, text_problem

if TYPE_CHECKING:
    import torch

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

    ``demonstrations`` gives a chat model its worked examples (default: the library's
    families, ``LibraryDemonstrations``), ``shots`` of them per prompt; a plain model has none.
    """

    name = "lm"

    def __init__(
        self,
        model_dir: Path,
        library: SkillLibrary,
        threads: int = 1,
        demonstrations: DemonstrationSource | None = None,
        shots: int = 3,
    ) -> None:
        if not (Path(model_dir) / "config.json").is_file():
            raise ModelNotFoundError(
                f"no model at {model_dir} (config.json missing); run 'robolearn bootstrap' to "
                "build the default one, or pass --model with a preset (smollm2) or a local "
                "Hugging Face folder"
            )
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.model_dir = Path(model_dir)
        self.library = library
        with offline_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
            self.model = AutoModelForCausalLM.from_pretrained(
                model_dir, local_files_only=True, dtype=torch.float32
            )
        self.model.eval()
        self.adapter: Path | None = None
        """The adapter planning now (None: the base model alone)."""
        self._adapters: dict[tuple[str, int], str] = {}
        """Adapters loaded into the model: (folder, config's mtime) -> peft adapter name."""
        self.explanation = ""
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.format: PlainFormat | ChatFormat = PlainFormat(self.tokenizer)
        """How prompts are written and answers end, by what the tokenizer offers."""
        if getattr(self.tokenizer, "chat_template", None):
            source = LibraryDemonstrations(library) if demonstrations is None else demonstrations
            self.format = ChatFormat(self.tokenizer, library, source, shots)
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
            return
        adapter_dir = Path(adapter_dir)
        name = self._adapter_name(adapter_dir)
        self.model.set_adapter(name, inference_mode=True)
        self.model.base_model.enable_adapter_layers()
        self.model.eval()
        self.adapter = adapter_dir

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
        from peft import PeftModel

        name = f"adapter{len(self._adapters)}"
        with offline_loading():
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(adapter_dir, adapter_name=name, is_trainable=False)
            else:
                self.model = PeftModel.from_pretrained(
                    self.model, adapter_dir, adapter_name=name, is_trainable=False
                )
        self._adapters[key] = name
        return name

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
        from robolearn.planner.grammar import (
            ConstrainedPlanProcessor,
            PlanGrammar,
            call_vocabulary,
            decode_vocabulary,
        )

        calls = call_vocabulary(self.library, {o.name: o for o in objects})
        input_ids = self.encode(prompt)
        length = input_ids.shape[1]
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
        budget = len(lead) + grammar.longest_plan + 1
        ids = self._greedy(input_ids, processor, budget, eos)
        calls = parse_answer(self.tokenizer.decode(ids[0, length:], skip_special_tokens=True))
        self.explanation = f"language model {self.model_dir.name}" + (
            f" with LoRA adapter {self.adapter.name}" if self.adapter else ""
        )
        return calls

    def _greedy(self, ids: torch.Tensor, processor: object, budget: int, eos: int) -> torch.Tensor:
        """Greedy decoding with the key-value cache, one constrained token at a time.

        ``model.generate`` costs ~2 ms of bookkeeping per token on this small a model; this
        loop does the same arithmetic for a third of the time.
        """
        import torch

        cache, step_input = None, ids
        with torch.inference_mode():
            for _ in range(budget):
                out = self.model(input_ids=step_input, cache=cache, use_cache=True)
                cache = out.cache
                scores = processor(ids, out.logits[:, -1, :])
                token = scores.argmax(dim=-1, keepdim=True)
                ids = torch.cat([ids, token], dim=1)
                if int(token) == eos:
                    break
                step_input = token
        return ids
