"""The little JQL the app needs: `id`, `key`/`issuekey`/`issue` and `project` with `=`,
`!=`, `in` and `not in`, joined by AND, optionally `ORDER BY`. Anything else is refused with
Jira's 400, never silently misread. Like Jira, naming an issue or a project that does not
exist fails the whole query."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.jira.errors import JiraApiError
from sandbox.jira.site import Site

_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|=|\(|\)|,)|(?P<word>[^\s,()=!"']+))"""
)
_ISSUE_FIELDS = {"id": "id", "issue": "key", "issuekey": "key", "key": "key"}
_ORDER_FIELDS = {"id", "key", "issuekey", "created", "project"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


def _tokens(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    jql = jql.strip()
    while position < len(jql):
        match = _TOKEN.match(jql, position)
        if match is None or match.end() == position:
            raise _syntax(f"unexpected character at position {position + 1}")
        kind = match.lastgroup or "word"
        text = match.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
            kind = "word"
        tokens.append(_Token(kind, text))
        position = match.end()
    return tokens


def _syntax(detail: str) -> JiraApiError:
    return JiraApiError(400, f"Error in the JQL Query: {detail}.")


class _Parser:
    def __init__(self, site: Site, jql: str) -> None:
        self.site = site
        self.tokens = _tokens(jql)
        self.position = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _syntax("the query ended unexpectedly")
        self.position += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.lower() == words[0]:
            saved = self.position
            self.position += 1
            for word in words[1:]:
                following = self.peek()
                if following is None or following.text.lower() != word:
                    self.position = saved
                    return False
                self.position += 1
            return True
        return False

    def values(self) -> list[str]:
        if not (self.peek() and self.next().text == "("):
            raise _syntax("expected '(' after 'in'")
        values: list[str] = []
        while True:
            token = self.next()
            if token.kind != "word":
                raise _syntax(f"expected a value but got '{token.text}'")
            values.append(token.text)
            separator = self.next()
            if separator.text == ")":
                return values
            if separator.text != ",":
                raise _syntax(f"expected ',' or ')' but got '{separator.text}'")

    def clause(self) -> set[str]:
        field = self.next()
        name = field.text.lower()
        if field.kind != "word" or (name not in _ISSUE_FIELDS and name != "project"):
            raise _syntax(f"field '{field.text}' is not supported by the sandbox")
        negate = False
        if self.keyword("not", "in"):
            negate, values = True, self.values()
        elif self.keyword("in"):
            values = self.values()
        else:
            op = self.next()
            if op.text not in ("=", "!="):
                raise _syntax(f"expecting operator but got '{op.text}'")
            negate = op.text == "!="
            value = self.next()
            if value.kind != "word":
                raise _syntax(f"expected a value but got '{value.text}'")
            values = [value.text]
        matched = self.project_issues(values) if name == "project" else self.issues(name, values)
        return set(self.site.issues) - matched if negate else matched

    def issues(self, name: str, values: list[str]) -> set[str]:
        by = _ISSUE_FIELDS[name]
        found: set[str] = set()
        missing: list[str] = []
        for value in values:
            issue = self.site.find_issue(value)
            if issue is None or (by == "id" and not value.isdigit()):
                missing.append(value)
            else:
                found.add(issue.id)
        if missing:
            raise JiraApiError(
                400,
                *(f"An issue with key '{m}' does not exist for field '{name}'." for m in missing),
            )
        return found

    def project_issues(self, values: list[str]) -> set[str]:
        project_ids: set[str] = set()
        for value in values:
            project = self.site.find_project(value)
            if project is None:
                raise JiraApiError(
                    400, f"The value '{value}' does not exist for the field 'project'."
                )
            project_ids.add(project.id)
        return {i.id for i in self.site.issues.values() if i.project_id in project_ids}

    def order(self) -> list[tuple[str, bool]]:
        ordering: list[tuple[str, bool]] = []
        while True:
            field = self.next().text.lower()
            if field not in _ORDER_FIELDS:
                raise _syntax(f"ordering by '{field}' is not supported by the sandbox")
            descending = False
            if self.keyword("desc"):
                descending = True
            else:
                self.keyword("asc")
            ordering.append((field, descending))
            token = self.peek()
            if token is None:
                return ordering
            if token.text != ",":
                raise _syntax(f"unexpected '{token.text}'")
            self.position += 1


def search(site: Site, jql: str) -> list[str]:
    """Ids of the issues matching `jql`, in its ORDER BY (by id when none)."""
    parser = _Parser(site, jql)
    matched: set[str] | None = None
    ordering: list[tuple[str, bool]] = [("id", False)]
    while parser.peek() is not None:
        if parser.keyword("order", "by"):
            ordering = parser.order()
            break
        if matched is not None and not parser.keyword("and"):
            raise _syntax(f"expected 'AND' but got '{parser.next().text}'")
        clause = parser.clause()
        matched = clause if matched is None else matched & clause
    ids = list(site.issues) if matched is None else list(matched)
    for field, descending in reversed(ordering):
        ids.sort(key=lambda i: _sort_key(site, i, field), reverse=descending)
    return ids


def _sort_key(site: Site, issue_id: str, field: str) -> tuple[str, int]:
    issue = site.issues[issue_id]
    if field in ("key", "issuekey"):
        project, _, number = issue.key.rpartition("-")
        return (project, int(number) if number.isdigit() else 0)
    if field == "project":
        return (site.projects[issue.project_id].key, 0)
    # `id` and `created`: ids grow with creation.
    return ("", int(issue.id))
