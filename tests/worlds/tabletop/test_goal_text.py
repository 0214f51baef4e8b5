"""goal_text.py: goal text as people type it → the grammar's plain phrasing."""

from __future__ import annotations

import pytest

from spiral.errors import AmbiguousGoalError, GoalParseError
from spiral.worlds.tabletop.goal_text import check_text, fix_typo, normalize


@pytest.mark.parametrize("said, plain", [
    ("Please put the red ball in the bowl!", "put the red ball in the bowl"),
    ("Can you first stack the green cube on the blue one, and then put the red ball in the bowl too?",
     "stack the green cube on the blue one, and then put the red ball in the bowl"),
    ("I'd like you to slide the blue cube a bit to the left, thanks", "slide the blue cube to the left"),
    ("put the balls in the bowl one after the other", "put the balls in the bowl"),
    ("Put the red ball in the bowl. Then push the blue cube left.",
     "put the red ball in the bowl, then push the blue cube left"),
    ("pick up the red ball and place it in the bowl", "put the red ball in the bowl"),
    ("grab the red ball and put it on the left side", "put the red ball on the left side"),
    ("pick the red ball up and put it next to the cube", "put the red ball next to the cube"),
    ("move the cube next to the ball", "move the cube next to the ball"),  # "next to" is not a sequencer
    ("put the red ball in the bowl, next push it left", "put the red ball in the bowl, then push it left"),
    ("put the red ball in the bowl \U0001f642 thx", "put the red ball in the bowl"),
    ("\U0001f534\u27a1\ufe0f\U0001f963", ""),
    ("so what I'd like is for you to put the red ball in the bowl", "put the red ball in the bowl"),
    ("move the yellow ball so it is next to the blue cube", "move the yellow ball next to the blue cube"),
    ("Put the balls into the bowl, both of them.", "put the balls into the bowl"),
])
def test_fillers_sentences_and_put_verbs(said, plain):
    assert normalize(said) == plain


@pytest.mark.parametrize("said, plain", [
    ("build a tower with the red cube at the bottom, then green, then blue",
     "stack green on the red cube, then stack blue on green"),
    ("make a tower: red at the bottom, green in the middle, blue on top", "stack green on red, then stack blue on green"),
    ("stack them red, green, blue from the bottom", "stack green on red, then stack blue on green"),
    ("stack red, green and blue, bottom to top", "stack green on red, then stack blue on green"),
    ("stack red, green and blue from the top down, then put the ball in the bowl",
     "stack green on blue, then stack red on green, then put the ball in the bowl"),
    ("build me a tower with the red block at the bottom, followed by the green block and the blue block",
     "stack the green block on the red block, then stack the blue block on the green block"),
    ("stack cubes red green blue from bottom", "stack green on red, then stack blue on green"),
    ("build tower: red bottom, green middle, blue top", "stack green on red, then stack blue on green"),
    ("stack them: red first, then blue, then green", "stack blue on red, then stack green on blue"),
    ("build a tower with all the blocks", "build a tower with all the blocks"),  # left to the grammar
    ("stack the green cube on the blue one", "stack the green cube on the blue one"),
])
def test_tower_descriptions_become_stack_clauses(said, plain):
    assert normalize(said) == plain


def test_a_tower_without_an_order_is_a_question():
    with pytest.raises(AmbiguousGoalError, match="which cube goes at the bottom of the tower: red or green or blue"):
        normalize("make a tower: red, green, blue")


@pytest.mark.parametrize("typo, word", [
    ("purpel", "purple"), ("yelow", "yellow"), ("contianer", "container"), ("stakc", "stack"), ("sphree", "sphere"),
    ("bottm", "bottom"), ("greeen", "green"),
])
def test_typos_one_edit_from_a_known_word(typo, word):
    assert fix_typo(typo) == word
    assert fix_typo(word) == word


@pytest.mark.parametrize("word", ["bwol", "rde", "shiny", "flibber", "plase", "there", "where"])
def test_no_guess_on_short_unknown_or_two_way_typos(word):
    """Under 5 letters, nothing one edit away, or two candidates with the same first letter
    ("plase": place or please), or a common English word ("there" is not "three"): left alone
    for the grammar to refuse."""
    assert fix_typo(word) == word


@pytest.mark.parametrize("goal", ["put the red ball in the bowl\x00", "put the red\u200b ball in the bowl",
                                  "\x1b[31mput the red ball\x1b[0m", "put the ball \u202e in the bowl"])
def test_control_and_invisible_characters_are_refused(goal):
    with pytest.raises(GoalParseError, match="control or invisible characters") as e:
        check_text(goal)
    assert "plain text" in e.value.hint


def test_length_and_emptiness():
    with pytest.raises(GoalParseError, match="empty"):
        normalize(" \n\t")
    with pytest.raises(GoalParseError, match="2000"):
        normalize("a" * 2001)
    check_text("put the red ball\tin the bowl\n")  # tabs and newlines are whitespace
