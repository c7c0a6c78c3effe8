"""The personal data report's periodic job. It runs daily and reports each account once a
cycle (7 days by default): what is due on a given day is only what was last reported a
cycle ago, so the reports of a site's accounts spread over the week."""

from __future__ import annotations

from app.jobs import CATALOG
from app.privacy.service import report_all
from app.runtime import Runtime

REPORT_EVERY_SECONDS = 24 * 3600


@CATALOG.periodic_job("report-personal-data", every_seconds=REPORT_EVERY_SECONDS)
async def report_personal_data(runtime: Runtime) -> None:
    await report_all(runtime)
