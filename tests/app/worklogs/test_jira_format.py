"""Jira's worklog JSON in its real shapes becomes exact facts; bad input is refused clearly."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.errors import Unprocessable
from app.worklogs.jira_format import adf_to_text, parse_worklog


def worklog(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "self": "https://acme.atlassian.net/rest/api/2/issue/10010/worklog/10100",
        "id": "10100",
        "issueId": "10010",
        "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof"},
        "started": "2026-11-03T00:30:00.000+0100",
        "timeSpentSeconds": 5400,
        "comment": "Fixed the login bug",
        "created": "2026-11-03T10:00:00.000+0000",
        "updated": "2026-11-03T11:15:30.250+0000",
    }
    data.update(overrides)
    return data


def test_offset_is_kept_and_the_local_day_is_the_work_day() -> None:
    facts = parse_worklog(worklog())
    assert facts.started_at == datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    assert facts.started_offset_minutes == 60
    assert facts.started_on == date(2026, 11, 3)
    assert facts.id == 10100 and facts.issue_id == 10010
    assert facts.time_spent_seconds == 5400
    assert facts.updated_at == datetime(2026, 11, 3, 11, 15, 30, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("started", "offset"),
    [
        ("2026-11-03T09:00:00.000+0000", 0),
        ("2026-11-03T09:00:00.000-0530", -330),
        ("2026-11-03T09:00:00.000+05:45", 345),
        ("2026-11-03T09:00:00Z", 0),
    ],
)
def test_jira_offset_spellings(started: str, offset: int) -> None:
    assert parse_worklog(worklog(started=started)).started_offset_minutes == offset


def test_adf_comment_becomes_plain_text() -> None:
    comment = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Paired with "},
                    {"type": "mention", "attrs": {"id": "abc", "text": "@Ana"}},
                    {"type": "text", "text": " on "},
                    {"type": "inlineCard", "attrs": {"url": "https://x.test/PR-1"}},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "then tests"},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}
                        ],
                    }
                ],
            },
            {"type": "paragraph", "content": [{"type": "emoji", "attrs": {"shortName": ":tada:"}}]},
        ],
    }
    text = parse_worklog(worklog(comment=comment)).comment
    assert text == "Paired with @Ana on https://x.test/PR-1\nthen tests\none\n:tada:"


def test_missing_comment_and_author_are_tolerated() -> None:
    data = worklog()
    del data["comment"]
    del data["author"]
    facts = parse_worklog(data)
    assert facts.comment == "" and facts.author_account_id == "unknown"
    assert adf_to_text(None) == "" and adf_to_text(42) == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id", "abc", "not a Jira id"),
        ("id", None, "not a Jira id"),
        ("id", True, "not a Jira id"),
        ("issueId", "-1", "not a Jira id"),
        ("started", "yesterday", "not a Jira date-time"),
        ("started", "2026-11-03T09:00:00", "no UTC offset"),
        ("started", None, "missing"),
        ("timeSpentSeconds", -5, "timeSpentSeconds"),
        ("timeSpentSeconds", "3600", "timeSpentSeconds"),
    ],
)
def test_bad_worklogs_are_refused_with_the_field_named(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(Unprocessable, match=message):
        parse_worklog(worklog(**{field: value}))


def test_a_worklog_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(Unprocessable):
        parse_worklog(["not", "a", "worklog"])
