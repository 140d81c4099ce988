"""Properties that hold for every input, checked by hypothesis on generated ones: the call
language, task files, skill files and bundles.

Two kinds of property: what robolearn writes, it reads back as it was (round trips); and
whatever bytes it is given, it answers with a value or its own typed error, never another
exception (the hostile-input suites try chosen cases; these try thousands of generated ones).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robolearn.calls import Call, CallSyntaxError, format_calls, parse_calls
from robolearn.skills.bundle import BundleError, export_bundle, import_bundle
from robolearn.skills.composite import CompositeSkill, Provenance, SkillFileError, skill_from_json
from robolearn.skills.library import SkillDefinitionError, SkillLibrary
from robolearn.tasks.sampler import sample_task
from robolearn.tasks.spec import TaskFileError, load_family
from tests.conftest import VALID_FAMILY

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Enough examples to find the usual mistakes within seconds; ``--hypothesis-profile`` is not
needed (the slow bundle properties ask for fewer)."""

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
arguments = st.one_of(names, numbers)
calls = st.builds(Call, names, st.lists(arguments, max_size=6).map(tuple))


# ----- the call language ------------------------------------------------------------------------
@QUICK
@given(st.lists(calls, min_size=1, max_size=8))
def test_a_plan_reads_back_as_it_was_written(plan):
    assert parse_calls(format_calls(plan)) == plan
    assert parse_calls("; ".join(map(str, plan))) == plan


@QUICK
@given(calls)
def test_a_number_keeps_every_digit_through_text(call):
    [parsed] = parse_calls(str(call))
    for written, read in zip(call.args, parsed.args, strict=True):
        assert written == read and (
            not isinstance(read, float) or math.copysign(1, read) == math.copysign(1, written)
        )


@QUICK
@given(st.text(max_size=300))
def test_any_text_is_a_plan_or_a_call_syntax_error(text):
    try:
        plan = parse_calls(text)
    except CallSyntaxError as error:
        assert "\n" not in str(error) or "\n" in text
        return
    assert all(isinstance(call, Call) for call in plan)
    assert parse_calls(format_calls(plan)) == plan


@QUICK
@given(st.text(alphabet="abc_(),;. 0123456789e-+\n", max_size=200))
def test_text_made_of_the_languages_own_characters_is_a_plan_or_refused(text):
    with contextlib.suppress(CallSyntaxError):  # anything else fails the test
        parse_calls(text)


# ----- task files -------------------------------------------------------------------------------
@QUICK
@given(st.integers(0, len(VALID_FAMILY)), st.integers(0, 40), st.text(max_size=60))
def test_a_task_file_edited_anywhere_loads_or_says_what_is_wrong(start, length, insert):
    text = VALID_FAMILY[:start] + insert + VALID_FAMILY[start + length :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            family = load_family(path)
        except TaskFileError as error:
            assert str(path) in str(error)
            return
        for seed in range(3):  # a family that loads has scenes to sample
            task = sample_task(family, seed)
            assert task.instruction and task.objects


@QUICK
@given(st.integers(1, 10_000), st.sampled_from(["block", "bowl", "cube"]))
def test_a_family_with_any_step_budget_and_kind_loads_or_is_refused(max_steps, kind):
    text = VALID_FAMILY.replace('kind = "block"', f'kind = "{kind}"', 1)
    text = text.replace("oracle =", f"max_steps = {max_steps}\noracle =")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo.toml"
        path.write_text(text)
        try:
            family = load_family(path)
        except TaskFileError:
            return
        assert family.max_steps == max_steps


# ----- skill files ------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
STACK = {
    "format": 1,
    "name": "demo_stack",
    "description": "stack a block on another",
    "params": [{"name": "top", "type": "block"}, {"name": "base", "type": "block"}],
    "steps": ["pick(top)", "place(top, base)"],
    "effect": ["on(top, base)"],
}


@QUICK
@given(st.sampled_from([*STACK, "version", "provenance"]), json_values)
def test_a_skill_file_with_any_value_in_any_field_parses_or_names_the_field(key, value):
    try:
        skill = skill_from_json({**STACK, key: value}, "upload.json")
    except SkillFileError as error:
        assert str(error).startswith("upload.json: ") and "\n" not in str(error)
        return
    assert skill_from_json(skill.to_json(), "again") == skill


@QUICK
@given(json_values)
def test_any_json_document_is_a_skill_or_a_skill_file_error(value):
    with contextlib.suppress(SkillFileError):  # anything else fails the test
        skill_from_json(value, "x.json")


skill_names = st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True).filter(
    lambda name: name not in SkillLibrary.seed()
)
descriptions = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=80
).filter(str.strip)


@st.composite
def composites(draw) -> CompositeSkill:
    """A composite skill that could join the seed library: a name, a description, and steps
    that pick and place its two block parameters in some order."""
    top, base = draw(
        st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=2, max_size=2, unique=True)
    )
    steps = draw(
        st.lists(
            st.sampled_from([f"pick({top})", f"place({top}, {base})", "open_gripper()"]),
            min_size=1,
            max_size=5,
        )
    )
    return skill_from_json(
        {
            **STACK,
            "name": draw(skill_names),
            "description": draw(descriptions),
            "params": [{"name": top, "type": "block"}, {"name": base, "type": "block"}],
            "steps": steps,
            "effect": draw(st.sampled_from([[], [f"on({top}, {base})"]])),
            "provenance": {"source": draw(st.sampled_from(["seed", "person", "import"]))},
        },
        "generated",
    )


@QUICK
@given(composites())
def test_a_skill_reads_back_from_its_file_with_the_same_content_hash(skill):
    again = skill_from_json(json.loads(json.dumps(skill.to_json())), "again")
    assert again == skill and again.content_hash == skill.content_hash


# ----- bundles ----------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(composites(), min_size=1, max_size=4, unique_by=lambda s: s.name))
def test_a_library_exported_and_imported_elsewhere_is_the_same_library(skills):
    seed = SkillLibrary.seed()
    try:
        library = SkillLibrary([*seed.composites.values(), *skills])
    except SkillDefinitionError:
        return  # two generated skills that do the same under other names
    with tempfile.TemporaryDirectory() as folder:
        for out in (Path(folder) / "bundle", Path(folder) / "bundle.zip"):
            export_bundle(library, out)
            workspace = Path(folder) / f"ws-{out.suffix}"
            report = import_bundle(SkillLibrary.open(workspace), out)
            again = SkillLibrary.open(workspace)
            assert set(report.added) == {s.name for s in skills}
            assert {n: s.content_hash for n, s in again.composites.items()} == {
                n: s.content_hash for n, s in library.composites.items()
            }
            assert all(
                again.composites[s.name].provenance
                == Provenance("import", note=f"from bundle {out.name}")
                for s in skills
            )


@st.composite
def zips(draw) -> bytes:
    """A zip of generated members: names (some with path tricks) and bytes (some JSON)."""
    buffer = io.BytesIO()
    member_names = st.one_of(
        st.sampled_from(
            [
                "manifest.json",
                "skills/stack_on.json",
                "../x.json",
                "/abs.json",
                "skills/",
                "a\\b.json",
            ]
        ),
        # zipfile's writer cuts a name at NUL (an empty name raises IndexError in zipfile)
        st.text(min_size=1, max_size=20).filter(lambda name: "\x00" not in name),
    )
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in draw(st.lists(member_names, max_size=5, unique=True)):
            data = draw(
                st.one_of(
                    st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())
                )
            )
            archive.writestr(name, data)
    raw = buffer.getvalue()
    cut = draw(st.integers(0, len(raw)))
    return raw if draw(st.booleans()) else raw[:cut]  # whole, or truncated


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(zips())
def test_any_zip_is_imported_whole_or_refused_with_nothing_changed(data):
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "ws"
        library = SkillLibrary.open(workspace)
        before = {n: s.content_hash for n, s in library.composites.items()}
        bundle = Path(folder) / "b.zip"
        bundle.write_bytes(data)
        with pytest.raises(BundleError):
            import_bundle(library, bundle)
        after = {n: s.content_hash for n, s in SkillLibrary.open(workspace).composites.items()}
        assert after == before
