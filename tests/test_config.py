"""Settings: one object fed by flags and JOBMATCH_* variables; bad values rejected at start-up."""

from __future__ import annotations

import argparse

import pytest

from jobmatch.server.config import ModelSpec, ServerSettings, add_settings_arguments, settings_from_arguments


def parse(argv: list[str]) -> ServerSettings:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    return settings_from_arguments(parser.parse_args(argv))


def test_default_model_is_jobbert_v3() -> None:
    settings = ServerSettings()
    assert settings.models == [ModelSpec(name="jobbert-v3", source="TechWolf/JobBERT-v3")]
    assert settings.default_model == "jobbert-v3"


def test_model_specs_parse() -> None:
    assert ModelSpec.parse("a=/models/x") == ModelSpec(name="a", source="/models/x")
    assert ModelSpec.parse("TechWolf/JobBERT-v3") == ModelSpec(name="jobbert-v3", source="TechWolf/JobBERT-v3")
    with pytest.raises(ValueError, match="NAME=PATH"):
        ModelSpec.parse("a=")


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBMATCH_MODELS", "a=/x,b=/y")
    monkeypatch.setenv("JOBMATCH_MAX_BATCH_SIZE", "7")
    monkeypatch.setenv("JOBMATCH_PORT", "6000")
    settings = parse(["--port", "7000", "--trust-remote-code"])
    assert [m.name for m in settings.models] == ["a", "b"]
    assert (settings.max_batch_size, settings.port, settings.trust_remote_code) == (7, 7000, True)
    assert [m.name for m in parse(["--model", "c=/z", "--model", "d=/w"]).models] == ["c", "d"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--max-batch-size", "0"], "max_batch_size"),
        (["--port", "70000"], "port"),
        (["--dtype", "int3"], "dtype"),
        (["--model", "a=/x", "--model", "a=/y"], "unique"),
        (["--max-inputs-per-request", "10000"], "max_queued_inputs"),
    ],
)
def test_invalid_values_are_rejected_with_a_clear_message(argv: list[str], words: str) -> None:
    with pytest.raises(SystemExit) as caught:
        parse(argv)
    assert "invalid settings" in str(caught.value)
    assert words in str(caught.value)
