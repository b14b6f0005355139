"""engine.sampling: the sampler on hand-made logits."""

import numpy as np
import pytest

from toolwire.engine.sampling import OPENAI_SAMPLING_FIELDS, SAMPLING_FIELDS, Sampler, SamplingParams, sampling_params
from toolwire.errors import RequestError


def logits() -> np.ndarray:
    return np.array([1.0, 3.0, 2.0, 0.5], dtype=np.float32)


def test_greedy_takes_the_largest() -> None:
    assert Sampler(SamplingParams()).sample(logits()) == 1


def test_mask_removes_tokens() -> None:
    allowed = np.array([True, False, True, True])
    assert Sampler(SamplingParams()).sample(logits(), allowed) == 2


def test_seed_makes_sampling_repeatable() -> None:
    params = SamplingParams(temperature=1.0, seed=7)
    first = [Sampler(params).sample(logits()) for _ in range(1)]
    draws_a = [s.sample(logits()) for s in [Sampler(params)] for _ in range(20)]
    draws_b = [s.sample(logits()) for s in [Sampler(params)] for _ in range(20)]
    assert draws_a == draws_b and first[0] == draws_a[0]
    assert len(set(draws_a)) > 1


def test_top_k_one_is_greedy() -> None:
    sampler = Sampler(SamplingParams(temperature=1.5, top_k=1, seed=1))
    assert {sampler.sample(logits()) for _ in range(20)} == {1}


def test_top_p_keeps_the_head() -> None:
    sampler = Sampler(SamplingParams(temperature=1.0, top_p=0.5, seed=3))
    assert {sampler.sample(logits()) for _ in range(30)} == {1}


def test_penalties_push_repeated_tokens_down() -> None:
    sampler = Sampler(SamplingParams(presence_penalty=2.0))
    sampler.accept(1)
    assert sampler.sample(logits()) == 2
    repeat = Sampler(SamplingParams(repeat_penalty=10.0))
    repeat.accept(1)
    assert repeat.sample(logits()) == 2


@pytest.mark.parametrize("field,value", [("temperature", -1), ("top_p", 0), ("max_tokens", 0), ("presence_penalty", 3)])
def test_out_of_range_names_the_field(field: str, value: float) -> None:
    with pytest.raises(RequestError, match=field):
        sampling_params(**{field: value})


def test_an_unknown_option_is_named() -> None:
    with pytest.raises(RequestError, match="tempreature: 0.5: unknown option"):
        sampling_params(tempreature=0.5)


def test_stop_takes_a_string_or_a_list() -> None:
    assert sampling_params(stop="END").stop == ("END",)
    assert sampling_params(stop=["a", "", "b"]).stop == ("a", "b")


def test_openai_fields_are_marked_once() -> None:
    assert OPENAI_SAMPLING_FIELDS == {"temperature", "top_p", "presence_penalty", "frequency_penalty", "seed",
                                      "max_tokens", "stop"}
    assert OPENAI_SAMPLING_FIELDS < set(SAMPLING_FIELDS)


def test_tiny_temperature_is_greedy_not_an_error() -> None:
    sampler = Sampler(SamplingParams(temperature=1e-300, seed=1))
    assert {sampler.sample(logits()) for _ in range(5)} == {1}
