"""Test sets stay test sets: no hand-written test phrasing is close to anything robolearn trains
on or prompts with (issue 13).

"Close" is word overlap: a test sentence is close to a text when 90% or more of its word
trigrams (lower case, punctuation dropped, colours as written) occur in that one text. A test
sentence copied into the data, with other capitals, punctuation or a polite word around it,
is 100% contained; the closest any test sentence comes to the default bootstrap's 18,000
demonstrations is 83% (a short phrasing that shares all but one trigram with a template).
"""

import re
from collections import defaultdict
from pathlib import Path

import pytest

from robolearn.paths import PARAPHRASE_FILES, data_dir, paraphrases_path
from robolearn.planner.bootstrap import BootstrapConfig, bootstrap_demonstrations
from robolearn.planner.demonstrations import LibraryDemonstrations
from robolearn.planner.paraphrases import read_paraphrases
from robolearn.planner.prompt import PROMPTS
from robolearn.skills.library import SkillLibrary

CLOSE = 0.9
FIXTURES = Path(__file__).parent / "fixtures"
_WORD = re.compile(r"[a-z0-9']+")


def trigrams(text):
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)} or {tuple(words)}


class Index:
    """Which texts hold each trigram, to find the text that holds most of a sentence's."""

    def __init__(self, texts):
        self.texts = list(texts)
        self.holders = defaultdict(set)
        for i, text in enumerate(self.texts):
            for gram in trigrams(text):
                self.holders[gram].add(i)

    def closest(self, sentence):
        """(share of the sentence's trigrams in the one text that holds most, that text)."""
        grams = trigrams(sentence)
        counts = defaultdict(int)
        for gram in grams:
            for i in self.holders.get(gram, ()):
                counts[i] += 1
        if not counts:
            return 0.0, ""
        best = max(counts, key=counts.get)
        return counts[best] / len(grams), self.texts[best]


def written_by_robolearn():
    """Every text a default bootstrap trains on or a prompt shows: demonstrations, the phrasing
    data, the prompt templates and the chat prompt's worked examples."""
    texts = [e.prompt for e in bootstrap_demonstrations(BootstrapConfig())]
    texts += [p.read_text() for p in sorted((data_dir("envs") / "language").glob("*.toml"))]
    texts += [
        line for p in sorted(data_dir("envs").glob("*.toml")) for line in p.read_text().splitlines()
    ]
    texts += [p.read_text() for p in sorted(PROMPTS.glob("*.txt"))]
    pool = LibraryDemonstrations(SkillLibrary.seed()).pool.values()
    texts += [example.instruction for examples in pool for example in examples]
    return texts


@pytest.fixture(scope="module")
def index():
    return Index(written_by_robolearn())


TEST_SETS = sorted(p for p in FIXTURES.glob("paraphrases*.json") if "dev" not in p.name)
"""Every hand-written test set; the development sets (``*dev*``) are not test sets."""


def test_the_test_sets_include_the_ones_the_planner_benchmark_uses():
    assert {p.name for p in TEST_SETS} >= set(PARAPHRASE_FILES)


@pytest.mark.parametrize("path", TEST_SETS, ids=lambda p: p.name)
def test_no_test_phrasing_is_close_to_anything_the_bootstrap_writes_or_a_prompt_shows(index, path):
    for paraphrase in read_paraphrases(path):
        share, text = index.closest(paraphrase.instruction)
        assert share < CLOSE, f"{path.name}: {paraphrase.instruction!r} is {share:.0%} in {text!r}"


def test_the_check_catches_a_test_phrasing_copied_into_the_data():
    sentence = read_paraphrases(paraphrases_path(PARAPHRASE_FILES[0]))[0].instruction
    copied = Index(["some demonstration", f"Please, {sentence.upper()}!! thanks"])
    assert copied.closest(sentence)[0] == 1.0
    assert Index(["some demonstration"]).closest(sentence)[0] < CLOSE
