"""Change feeds behind `/worklog/updated` and `/worklog/deleted`.

Each feed is a list of `(time_ms, worklog_id)` kept sorted, so a page is a bisect plus a
slice: O(log N + page), which keeps a 100,000-worklog site fast.
"""

from __future__ import annotations

import bisect
import sys
from dataclasses import dataclass

PAGE_SIZE = 1000
SETTLE_MS = 60_000
"""Jira leaves out changes of the minute before the request (they may still be committing)."""


@dataclass(frozen=True, slots=True)
class ChangePage:
    entries: list[tuple[int, int]]
    since: int
    until: int
    last_page: bool


class ChangeFeed:
    def __init__(self) -> None:
        self._entries: list[tuple[int, int]] = []
        self._time_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, worklog_id: int, at_ms: int) -> None:
        self.forget(worklog_id)
        bisect.insort(self._entries, (at_ms, worklog_id))
        self._time_of[worklog_id] = at_ms

    def forget(self, worklog_id: int) -> None:
        previous = self._time_of.pop(worklog_id, None)
        if previous is not None:
            index = bisect.bisect_left(self._entries, (previous, worklog_id))
            del self._entries[index]

    def page(self, since: int, now_ms: int, page_size: int = PAGE_SIZE) -> ChangePage:
        """Changes strictly after `since` and before the settling minute, oldest first.

        A page that would end in the middle of several changes sharing one millisecond is
        extended to take all of them: the next page starts strictly after `until`, so
        splitting them would lose some.
        """
        cutoff = now_ms - SETTLE_MS
        start = bisect.bisect_right(self._entries, (since, sys.maxsize))
        end = bisect.bisect_left(self._entries, (cutoff, -1), lo=start)
        stop = min(end, start + page_size)
        if stop < end and stop > start:
            last_time = self._entries[stop - 1][0]
            stop = bisect.bisect_right(self._entries, (last_time, sys.maxsize), lo=stop, hi=end)
        entries = self._entries[start:stop]
        until = entries[-1][0] if entries else since
        return ChangePage(entries=entries, since=since, until=until, last_page=stop >= end)
