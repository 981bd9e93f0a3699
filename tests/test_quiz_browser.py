"""Quizzes, the 読了 toggle and the learning record, in a real Chromium."""

from __future__ import annotations

import json

import pytest

from tests.conftest import open_context
from tests.support import site
from tests.test_build import make_project

pytestmark = pytest.mark.browser

KEY = "kasouka.record"
HOME_PATH = '[data-quiz-id="home-choose-path"]'
HOME_REQUIREMENTS = '[data-quiz-id="home-lab-requirements"]'

CHAPTER = """\
# 試験の章

本文。

## 確認クイズ {{#quiz}}

```quiz
id: fixture-first
question: 一つ目の問題です。
choices:
{first}
```

```quiz
id: fixture-second
question: 二つ目の問題です。
choices:
  - text: 正解
    correct: true
    explain: 正解の説明。
  - text: 不正解
    explain: 不正解の説明。
```
{extra}"""
FIRST_CHOICES = """\
  - text: 選択肢A
    correct: true
    explain: Aの説明。
  - text: 選択肢B
    explain: Bの説明。"""
EXTRA_QUESTION = """
```quiz
id: fixture-third
question: 更新で加わった問題です。
choices:
  - text: はい
    correct: true
    explain: はいの説明。
  - text: いいえ
    explain: いいえの説明。
```
"""


def chapter(first=FIRST_CHOICES, extra=""):
    return CHAPTER.format(first=first, extra=extra)


FIXTURE_COURSE_ENTRY = """
  - slug: fixture-chapter
    part: basics
    tracked: true
    title: {ja: 試験の章, en: Fixture chapter}
    summary: {ja: 試験用の章です。, en: A chapter for the tests.}
  - slug: fixture-unwritten
    part: basics
    tracked: true
    title: {ja: まだない章, en: Unwritten chapter}
    summary: {ja: ファイルのない章です。, en: A chapter with no file yet.}
"""


def chapter_project(root, text):
    """A copy of the site with a tracked fixture chapter (fixture-chapter) added to the course map."""
    config = make_project(root, {"fixture-chapter.md": text})
    course = root / "docs" / "_data" / "course.yml"
    course.write_text(course.read_text(encoding="utf-8") + FIXTURE_COURSE_ENTRY, encoding="utf-8")
    return config


@pytest.fixture(scope="module")
def chapter_site(tmp_path_factory):
    """A copy of the site with one tracked chapter holding two quizzes."""
    root = tmp_path_factory.mktemp("chapter-site")
    config = chapter_project(root, chapter())
    with site.serve(root / "site") as base_url:
        site.build(config, root / "site", site_url=base_url)
        yield root, config, base_url


@pytest.fixture
def chapter_page(browser, chapter_site):
    root, config, base_url = chapter_site
    context, log = open_context(browser, base_url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, base_url
    context.close()
    assert log.problems() == []


def answer(page, quiz_selector: str, *choices: int, button="答え合わせ"):
    quiz = page.locator(quiz_selector)
    for index in choices:
        quiz.locator("input[data-quiz-choice]").nth(index).check()
    quiz.get_by_role("button", name=button).click()
    return quiz


def stored(page) -> dict:
    return json.loads(page.evaluate(f"localStorage.getItem('{KEY}')") or "null")


# --- answering --------------------------------------------------------------------


def test_right_answer(page, context, base_url):
    page.goto(base_url)
    quiz = answer(page, HOME_PATH, 0)
    assert quiz.get_attribute("data-quiz-state") == "correct"
    feedback = quiz.locator("[data-quiz-feedback]")
    assert "正解です。" in feedback.inner_text()
    assert "オンボーディングで最初に必要になる4つの章" in feedback.inner_text()
    assert quiz.locator(".quiz__answers").is_visible()
    assert "この章のクイズ: 2問中1問正解" in page.locator("[data-chapter-score]").inner_text()
    record = stored(page)
    assert record["version"] == 1
    assert record["questions"]["home-choose-path"]["correct"] is True
    assert record["questions"]["home-choose-path"]["attempts"] == 1
    assert context.log.problems() == []


def test_wrong_answer_explains_the_choice_and_the_right_one(page, base_url):
    page.goto(base_url)
    quiz = answer(page, HOME_PATH, 2)
    assert quiz.get_attribute("data-quiz-state") == "incorrect"
    text = quiz.locator("[data-quiz-feedback]").inner_text()
    assert "不正解です。" in text
    assert "あなたの答え: 手を動かして学ぶ" in text
    assert "選ばなかった正解: 1時間で全体像をつかむ" in text
    # All explanations on request.
    quiz.locator(".quiz__answers summary").click()
    assert quiz.locator(".quiz__answers li").count() == 3
    assert quiz.locator(".quiz__answers li").nth(1).is_visible()


def test_multiple_answer_question_needs_every_right_choice(page, base_url):
    page.goto(base_url)
    quiz = answer(page, HOME_REQUIREMENTS, 0)
    assert quiz.get_attribute("data-quiz-state") == "incorrect"
    assert "選ばなかった正解" in quiz.locator("[data-quiz-feedback]").inner_text()
    quiz.get_by_role("button", name="もう一度").click()
    assert quiz.get_attribute("data-quiz-state") is None
    answer(page, HOME_REQUIREMENTS, 0, 1)
    assert quiz.get_attribute("data-quiz-state") == "correct"
    assert stored(page)["questions"]["home-lab-requirements"]["attempts"] == 2


def test_checking_without_a_choice_asks_for_one(page, base_url):
    page.goto(base_url)
    quiz = answer(page, HOME_PATH)
    assert quiz.get_attribute("data-quiz-state") is None
    assert "選択肢を選んでから" in quiz.locator("[data-quiz-feedback]").inner_text()
    assert stored(page) is None


def test_try_again_resets_the_question(page, base_url):
    page.goto(base_url)
    quiz = answer(page, HOME_PATH, 2)
    quiz.get_by_role("button", name="もう一度").click()
    assert quiz.get_attribute("data-quiz-state") is None
    assert quiz.locator("[data-quiz-feedback]").inner_text() == ""
    assert not quiz.locator(".quiz__answers").is_visible()
    assert quiz.locator("input:checked").count() == 0
    assert quiz.locator("input").first.is_enabled()


def test_answer_survives_a_reload(page, base_url):
    page.goto(base_url)
    answer(page, HOME_PATH, 2)
    page.reload()
    quiz = page.locator(HOME_PATH)
    assert quiz.get_attribute("data-quiz-state") == "incorrect"
    assert quiz.locator("input").nth(2).is_checked()
    assert "あなたの答え: 手を動かして学ぶ" in quiz.locator("[data-quiz-feedback]").inner_text()


def test_keyboard_only(page, base_url):
    page.goto(base_url)
    quiz = page.locator(HOME_PATH)
    first = quiz.locator("input").first
    first.focus()
    page.keyboard.press("ArrowDown")  # radio group: moves and selects
    page.keyboard.press("ArrowUp")
    assert first.is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "答え合わせ"
    page.keyboard.press("Enter")
    assert quiz.get_attribute("data-quiz-state") == "correct"
    # Focus moves to the button that is now in place of the hidden one.
    assert page.evaluate("document.activeElement.textContent") == "もう一度"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement === document.querySelector('" + HOME_PATH + " input')")


def test_english_page_uses_english_strings(page, base_url):
    page.goto(base_url + "en/")
    quiz = answer(page, HOME_PATH, 1, button="Check answer")
    assert quiz.get_attribute("data-quiz-state") == "incorrect"
    text = quiz.locator("[data-quiz-feedback]").inner_text()
    assert "Not quite." in text and "Your answer: The full course, in order" in text
    assert quiz.get_by_role("button", name="Try again").is_visible()
    assert "Quiz in this chapter: 0 of 2 correct" in page.locator("[data-chapter-score]").inner_text()
    assert page.locator(".quiz__number").first.evaluate(
        "el => getComputedStyle(el, '::before').content"
    ) == '"Question " counter(quiz)' or "Question" in page.locator(HOME_PATH).inner_text()


def test_answers_are_shared_between_languages(page, base_url):
    page.goto(base_url)
    answer(page, HOME_PATH, 0)
    page.goto(base_url + "en/")
    quiz = page.locator(HOME_PATH)
    assert quiz.get_attribute("data-quiz-state") == "correct"
    assert "Your earlier answer was correct" in quiz.locator("[data-quiz-feedback]").inner_text()
    assert "Quiz in this chapter: 1 of 2 correct" in page.locator("[data-chapter-score]").inner_text()
    quiz.get_by_role("button", name="Try again").click()
    assert quiz.get_attribute("data-quiz-state") is None


def test_without_javascript_the_answers_are_readable(browser, base_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url)
        quiz = page.locator(HOME_PATH)
        details = quiz.locator("details.quiz__answers")
        assert details.is_visible()
        details.locator("summary").click()
        text = details.inner_text()
        assert "正解: 1時間で全体像をつかむ" in text
        assert "不正解: 全章を順に学ぶ" in text
    finally:
        context.close()


# --- the 読了 toggle and /progress/ ---------------------------------------------------


def test_read_toggle_and_progress_page(chapter_page):
    page, base_url = chapter_page
    page.goto(base_url + "fixture-chapter/")
    toggle = page.locator("[data-read-toggle]")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    answer(page, '[data-quiz-id="fixture-first"]', 0)
    page.reload()
    assert page.locator("[data-read-toggle]").get_attribute("aria-pressed") == "true"

    page.goto(base_url + "progress/")
    row = page.locator('[data-progress-page="fixture-chapter"]')
    assert row.locator("[data-progress-state]").inner_text() == "読了"
    assert row.locator("[data-progress-score]").inner_text() == "正解1・不正解0・未回答1（全2問）"
    summary = page.locator("[data-progress-summary]").inner_text()
    published = page.locator('[data-progress-page][data-tracked="true"][data-published="true"]').count()
    assert f"公開中の{published}章のうち1章を読了（{int(100 / published + 0.5)}%）" in summary
    unwritten = page.locator('[data-progress-page][data-published="false"]')
    assert unwritten.count() >= 1  # fixture-unwritten, whatever the real course has written
    for row in unwritten.all():
        assert row.locator("[data-progress-state]").inner_text() == "準備中"
    # The home page's path quiz is not a chapter.
    assert page.locator('[data-progress-page=""]').count() == 0


def test_progress_tells_wrong_answers_from_unanswered(chapter_page):
    """'0 of 2' used to mean both 'all wrong' and 'not started'."""
    page, base_url = chapter_page
    page.goto(base_url + "progress/")
    row = page.locator('[data-progress-page="fixture-chapter"]')
    assert row.locator("[data-progress-score]").inner_text() == "正解0・不正解0・未回答2（全2問）"
    page.goto(base_url + "fixture-chapter/")
    answer(page, '[data-quiz-id="fixture-first"]', 1)
    page.goto(base_url + "progress/")
    assert row.locator("[data-progress-score]").inner_text() == "正解0・不正解1・未回答1（全2問）"
    assert "正解0問・不正解1問・未回答" in page.locator("[data-progress-summary]").inner_text()


def test_export_reset_import_restores_the_record(chapter_page, tmp_path):
    page, base_url = chapter_page
    page.goto(base_url + "fixture-chapter/")
    page.locator("[data-read-toggle]").click()
    answer(page, '[data-quiz-id="fixture-second"]', 1)
    before = stored(page)

    page.goto(base_url + "progress/")
    with page.expect_download() as download:
        page.get_by_role("button", name="書き出す").click()
    exported = tmp_path / "record.json"
    download.value.save_as(exported)
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["format"] == "kasouka-learning-record"
    assert data["questions"] == before["questions"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="記録を消す").click()
    assert stored(page) == {"version": 1, "questions": {}, "pages": {}}
    row = page.locator('[data-progress-page="fixture-chapter"]')
    assert row.locator("[data-progress-state]").inner_text() == "未読"

    page.set_input_files("[data-progress-import]", str(exported))
    page.locator("[data-progress-message]").filter(has_text="読み込みました").wait_for()
    assert stored(page) == before
    assert row.locator("[data-progress-state]").inner_text() == "読了"


def test_reset_can_be_cancelled(chapter_page):
    page, base_url = chapter_page
    page.goto(base_url + "fixture-chapter/")
    page.locator("[data-read-toggle]").click()
    page.goto(base_url + "progress/")
    before = stored(page)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="記録を消す").click()
    assert stored(page) == before


@pytest.mark.parametrize(
    "content, message",
    [
        ("{ not json", "JSONとして読めない"),
        (json.dumps({"hello": "world"}), "このコースの学習の記録ではありません"),
        (json.dumps({"format": "kasouka-learning-record", "version": 99, "questions": {}, "pages": {}}),
         "より新しい版"),
        (json.dumps({"format": "kasouka-learning-record", "version": 1,
                     "questions": {"q": {"correct": "yes"}}, "pages": {}}), "中身に誤り"),
    ],
    ids=["not-json", "foreign", "newer", "bad-entry"],
)
def test_malformed_import_is_rejected_and_changes_nothing(chapter_page, tmp_path, content, message):
    page, base_url = chapter_page
    page.goto(base_url + "fixture-chapter/")
    page.locator("[data-read-toggle]").click()
    page.goto(base_url + "progress/")
    before = stored(page)
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    page.set_input_files("[data-progress-import]", str(bad))
    status = page.locator("[data-progress-message]")
    status.filter(has_text=message).wait_for()
    assert "いまの記録はそのままです" in status.inner_text()
    assert stored(page) == before


# --- corrupted storage ----------------------------------------------------------------


def set_storage_and_reload(page, base_url, raw: str):
    page.goto(base_url + "fixture-chapter/")
    page.evaluate("([key, raw]) => localStorage.setItem(key, raw)", [KEY, raw])
    page.reload()


def set_aside(page) -> list[str]:
    return page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('kasouka.record.set-aside.'))"
        ".map(k => localStorage.getItem(k))"
    )


def test_invalid_json_is_set_aside_and_the_reader_told(chapter_page):
    page, base_url = chapter_page
    set_storage_and_reload(page, base_url, "{this is not json")
    notice = page.locator("[data-record-notice]")
    assert "一部が読めなかった" in notice.inner_text()
    assert set_aside(page) == ["{this is not json"]
    assert stored(page) == {"version": 1, "questions": {}, "pages": {}}
    # The page still works.
    answer(page, '[data-quiz-id="fixture-first"]', 0)
    assert stored(page)["questions"]["fixture-first"]["correct"] is True
    # Told once: the repaired record loads quietly next time.
    page.reload()
    assert page.locator("[data-record-notice]").count() == 0


def test_valid_parts_are_kept(chapter_page):
    page, base_url = chapter_page
    good = {"correct": True, "attempts": 1, "answer": ["abc"], "at": "2026-01-01T00:00:00Z"}
    raw = json.dumps({
        "version": 1,
        "questions": {"fixture-first": good, "broken": {"correct": 1}},
        "pages": {"fixture-chapter": {"read": True}, "bad": "yes"},
    })
    set_storage_and_reload(page, base_url, raw)
    record = stored(page)
    assert record["questions"] == {"fixture-first": good}
    assert record["pages"] == {"fixture-chapter": {"read": True}}
    assert json.loads(set_aside(page)[0]) == {"questions": {"broken": {"correct": 1}}, "pages": {"bad": "yes"}}
    assert page.locator("[data-record-notice]").is_visible()
    assert page.locator("[data-read-toggle]").get_attribute("aria-pressed") == "true"


def test_record_from_a_newer_site_is_kept_aside(chapter_page):
    page, base_url = chapter_page
    raw = json.dumps({"version": 2, "questions": {}, "pages": {}, "new": "shape"})
    set_storage_and_reload(page, base_url, raw)
    assert "新しい版" in page.locator("[data-record-notice]").inner_text()
    assert set_aside(page) == [raw]


def test_full_storage_does_not_break_the_page(browser, chapter_site):
    root, config, base_url = chapter_site
    context, log = open_context(browser, base_url)
    context.add_init_script(
        "Storage.prototype.setItem = function () {"
        " throw new DOMException('full', 'QuotaExceededError'); };"
    )
    try:
        page = context.new_page()
        page.goto(base_url + "fixture-chapter/")
        quiz = answer(page, '[data-quiz-id="fixture-first"]', 0)
        assert quiz.get_attribute("data-quiz-state") == "correct"
        assert "ストレージがいっぱい" in page.locator("[data-record-notice]").inner_text()
        assert "1問正解" in page.locator("[data-chapter-score]").inner_text()
    finally:
        context.close()
    assert log.problems() == []


# --- site updates ---------------------------------------------------------------------


def test_record_survives_a_site_update_that_reorders_and_adds(browser, tmp_path):
    config = chapter_project(tmp_path, chapter())
    with site.serve(tmp_path / "site") as base_url:
        site.build(config, tmp_path / "site", site_url=base_url)
        context, log = open_context(browser, base_url)
        try:
            page = context.new_page()
            page.goto(base_url + "fixture-chapter/")
            answer(page, '[data-quiz-id="fixture-first"]', 1)  # 選択肢B, wrong

            # The update: choices reordered, a question added before the old ones.
            reordered = "\n".join(FIRST_CHOICES.splitlines()[3:] + FIRST_CHOICES.splitlines()[:3])
            updated = chapter(first=reordered, extra=EXTRA_QUESTION)
            (tmp_path / "docs" / "fixture-chapter.md").write_text(updated, encoding="utf-8")
            site.build(config, tmp_path / "site", site_url=base_url)
            page.reload()

            first = page.locator('[data-quiz-id="fixture-first"]')
            assert first.get_attribute("data-quiz-state") == "incorrect"
            chosen = first.locator("input:checked")
            assert chosen.count() == 1
            assert "選択肢B" in first.locator(".quiz__choice--chosen").inner_text()
            assert page.locator('[data-quiz-id="fixture-third"]').get_attribute("data-quiz-state") is None
            assert "3問中0問正解" in page.locator("[data-chapter-score]").inner_text()
        finally:
            context.close()
    assert log.problems() == []
