"""The grounding judges: plain and negation-aware word overlap, similarity, and their OR."""

import pytest

from nanoscale.config import OVERLAP_KINDS, ConfigError, Settings
from nanoscale.grounding import (
    NEGATED,
    OVERLAPS,
    judge,
    negation_overlaps,
    plain_overlaps,
    polar_tokens,
    similarities,
    strip_citations,
)
from tests.conftest import fake_vector

PRUNE = ["If no container uses them, run docker image prune to free the disk."]


def embed(texts):
    return [fake_vector(t) for t in texts]


def test_plain_overlap_lets_a_negated_sentence_pass_on_the_words_it_shares():
    """The flaw the negation-aware kind fixes: the words match, the meaning is reversed."""
    assert plain_overlaps(["Do not run docker image prune."], PRUNE) == [1.0]


def test_a_negated_sentence_is_not_supported_by_the_positive_instruction():
    assert negation_overlaps(["Do not run docker image prune."], PRUNE)[0] < 0.5
    assert negation_overlaps(["Run docker image prune."], PRUNE) == [1.0]


def test_negations_agree_across_different_cue_words():
    evidence = ["Never delete the etcd data directory by hand."]
    assert negation_overlaps(["Do not delete the etcd data directory."], evidence) == [1.0]
    assert negation_overlaps(["Delete the etcd data directory."], evidence) == [0.0]


def test_a_negation_reaches_only_to_the_end_of_its_clause():
    tokens = polar_tokens("The node cannot reach ECR, so attach the endpoint policy.")
    assert {("reach", True), ("ecr", True), (NEGATED, True)} <= tokens
    assert {("attach", False), ("endpoint", False), ("policy", False)} <= tokens


def test_dotted_names_and_iam_actions_do_not_end_a_clause():
    tokens = polar_tokens("Do not edit daemon.json or grant ecr:PutImage")
    assert {("daemon", True), ("json", True), ("ecr", True), ("put", True), ("image", True)} <= tokens


def test_a_sentence_without_content_words_is_undecided_not_supported():
    sentence = ["It is what it is."]
    assert plain_overlaps(sentence, PRUNE) == [1.0]
    assert negation_overlaps(sentence, PRUNE) == [0.0]
    assert not judge(sentence, PRUNE, None, 0.55, 0.6, "negation")[0].supported


def test_citations_are_neither_claim_nor_support():
    assert strip_citations("Run image prune [1, 2].") == "Run image prune."
    assert negation_overlaps(["Run docker image prune [tool:aws]."], PRUNE) == [1.0]


def test_similarity_is_the_closest_passage_and_zero_without_evidence():
    scores = similarities(["run docker image prune"], PRUNE, embed)
    assert 0.0 < scores[0] <= 1.0
    assert list(similarities(["anything at all here"], [], embed)) == [0.0]


def test_judge_keeps_its_plain_default_and_takes_the_kind_it_is_given():
    sentence = ["Do not run docker image prune."]
    assert judge(sentence, PRUNE, None, 0.99, 0.6)[0].supported
    assert not judge(sentence, PRUNE, None, 0.99, 0.6, "negation")[0].supported


def test_the_overlap_kinds_in_the_settings_are_the_ones_grounding_has():
    assert set(OVERLAPS) == set(OVERLAP_KINDS)
    assert Settings.load(env={}).graph.support_overlap_kind in OVERLAPS
    with pytest.raises(ConfigError, match="support_overlap_kind"):
        Settings.load(overrides={"graph.support_overlap_kind": "fuzzy"}, env={})
