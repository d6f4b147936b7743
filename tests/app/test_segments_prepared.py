"""The other segmentations of the Segments page are built ahead once per data, scenario,
method, k and models: by the start-up warm-up or by the page's background thread, whichever
comes first, never both (they ran the same ~1 s of work side by side while the user's first
changes of the minimum share waited for the CPU)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from ui import segments


@pytest.fixture()
def fake(monkeypatch):
    """Data and settings of their own (a fresh claim), no models, no fitting allowed."""
    monkeypatch.setattr(segments, "models_fingerprint", lambda data, s: "models")

    def no_fit(*a, **k):
        raise AssertionError("a claimed preparation fitted again")

    monkeypatch.setattr(segments, "_segment", no_fit)
    # a key no other test has: an object's id() is reused once it is freed, and a claim made
    # under a reused id by an earlier test made this one's first claim look like a later one
    data = SimpleNamespace(sha256=f"test-{uuid.uuid4().hex}")
    s = SimpleNamespace(catalog="telecom", seed=7)
    monkeypatch.setattr(segments, "scenario_key", lambda s: "scenario")
    return data, s


def test_the_first_caller_claims_the_preparation_and_every_later_one_skips_it(fake):
    data, s = fake
    opts = {"method": "kmeans", "k": "auto", "min_share": 0.05, "names": {}}
    assert segments._claim(data, s, opts, 12)
    assert not segments._claim(data, s, {**opts, "min_share": 0.2, "names": {"0": "a"}}, 12)
    # claimed elsewhere: the warm-up's call returns at once, fitting nothing
    assert segments.prepare_segmentations(data, s, opts) == 0
    # other options (another k) are another claim
    assert segments._claim(data, s, {**opts, "k": 3}, 12)
    assert segments._claim(data, s, opts, 6)  # another horizon too


def test_the_page_starts_no_thread_when_the_warm_up_claimed_the_preparation(fake, monkeypatch):
    data, s = fake
    opts = {"method": "kmeans", "k": "auto", "min_share": 0.05, "names": {}}
    monkeypatch.setattr(segments, "require_data", lambda: data)
    monkeypatch.setattr(segments, "settings", lambda: s)
    monkeypatch.setattr(segments, "segment_options", lambda: opts)
    assert segments._claim(data, s, opts, 12)  # what the warm-up's call does first
    assert segments.prepare_in_background() is None
