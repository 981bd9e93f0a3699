"""Quiz data is validated at build time: every rule fails with 'page.md:LINE: …'."""

from __future__ import annotations

import re

import pytest

from tests.test_build import build_fixture

GOOD = """\
```quiz
id: fixture-question
question: |
  どれが正しいでしょうか。
choices:
  - text: 正しい選択肢
    correct: true
    explain: 正しい理由。
  - text: 誤った選択肢
    explain: 誤っている理由。
```
"""


def page_with(quiz: str) -> str:
    # The fence starts on line 5 of the page; its YAML on line 6.
    return "# クイズ\n\n## 問題 {#questions}\n\n" + quiz


def failing_build(tmp_path, quiz: str):
    result = build_fixture(tmp_path, {"quizpage.md": page_with(quiz)})
    assert result.returncode != 0, "the build should have failed"
    return result.stderr


def test_good_quiz_builds_and_renders_the_contract(tmp_path):
    result = build_fixture(tmp_path, {"quizpage.md": page_with(GOOD)})
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "quizpage" / "index.html").read_text(encoding="utf-8")
    assert 'data-quiz-id="fixture-question"' in html
    assert len(re.findall(r"<input [^>]*data-quiz-choice=", html)) == 2
    assert 'type="radio"' in html
    assert html.count("data-quiz-feedback") == 1
    assert "<details class=\"quiz__answers\">" in html
    assert "正しい理由。" in html and "誤っている理由。" in html


@pytest.mark.parametrize(
    "quiz, message",
    [
        (GOOD.replace("question: |", "question: [unclosed"), r"quizpage.md:\d+: invalid YAML"),
        (GOOD.replace("id: fixture-question", "id: fixture-question\nhint: 余計なキー"),
         r"quizpage.md:7: hint: Extra inputs are not permitted"),
        (GOOD.replace("id: fixture-question\n", ""), r"quizpage.md:6: id: Field required"),
        (GOOD.replace("id: fixture-question", "id: Fixture_Question"),
         r"quizpage.md:6: id: String should match pattern"),
        (GOOD.replace("    correct: true\n", ""), r"quizpage.md:6: \(top level\): no correct choice"),
        (GOOD.replace("    explain: 誤っている理由。\n", ""),
         r"quizpage.md:13: choices.1.explain: Field required"),
        (GOOD.replace("  - text: 誤った選択肢\n    explain: 誤っている理由。\n", ""),
         r"quizpage.md:10: choices: List should have at least 2 items"),
        (GOOD.replace("    explain: 誤っている理由。", "    correct: true\n    explain: 誤っている理由。")
         .replace("choices:", "multiple: false\nchoices:"),
         r"quizpage.md:6: \(top level\): `multiple: false` but 2 choices are correct"),
        (GOOD.replace("id: fixture-question", "id: fixture-question\nid: again"),
         r"quizpage.md:7: duplicate key 'id'"),
        (GOOD.rstrip("`\n") + "\n", r"quizpage.md:\d+: the quiz fence is never closed"),
    ],
    ids=[
        "invalid-yaml", "unknown-key", "missing-id", "bad-id", "no-correct-choice",
        "choice-without-explanation", "fewer-than-two-choices", "multiple-false-but-two-correct",
        "duplicate-key", "unclosed-fence",
    ],
)
def test_bad_quiz_fails_with_file_and_line(tmp_path, quiz, message):
    stderr = failing_build(tmp_path, quiz)
    assert re.search(message, stderr), stderr


def test_id_used_twice_in_the_site_fails(tmp_path):
    result = build_fixture(tmp_path, {"first.md": page_with(GOOD), "second.md": page_with(GOOD)})
    assert result.returncode != 0
    assert re.search(
        r"(first|second).md:6: id 'fixture-question' is already used at (first|second).md:6",
        result.stderr,
    ), result.stderr


def test_same_id_in_the_translation_is_allowed(tmp_path):
    english = page_with(GOOD.replace("正しい選択肢", "Right").replace("誤った選択肢", "Wrong"))
    result = build_fixture(tmp_path, {"quizpage.md": page_with(GOOD), "quizpage.en.md": english})
    assert result.returncode == 0, result.stderr
    assert 'data-quiz-id="fixture-question"' in (
        tmp_path / "site" / "en" / "quizpage" / "index.html"
    ).read_text(encoding="utf-8")


def test_multiple_correct_answers_use_checkboxes(tmp_path):
    quiz = GOOD.replace("    explain: 誤っている理由。", "    correct: true\n    explain: 誤っている理由。")
    result = build_fixture(tmp_path, {"quizpage.md": page_with(quiz)})
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "quizpage" / "index.html").read_text(encoding="utf-8")
    assert html.count('type="checkbox" name="quiz-fixture-question"') == 2
    assert 'data-quiz-multiple="true"' in html
