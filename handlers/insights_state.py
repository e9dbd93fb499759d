"""What a coordinator's /insights remembers between presses: the filters, the page, the report open
and the response being written, with its versions in other languages. Its own module, since /export
reads the filters too and /insights offers /export: neither imports the other's journey to reach it."""

from __future__ import annotations

from pydantic import Field

from bot.steps import StepData
from storage.reports import Filters


class Insights(StepData):
    """The /insights view and, while responding, the response (steps `ins:*`)."""

    filters: Filters = Field(default_factory=Filters)
    period: str | None = None  # the dates filter, as one of insights.PERIODS; None for all time
    offset: int = 0  # of the list page shown, newest first
    report: int | None = None  # the report open, or being responded to
    theme: bool = False  # responding to every report the filters match, not to `report`
    text: str | None = None  # the response typed, waiting for Confirm
    ids: list[int] = Field(default_factory=list)  # the reports a theme response goes to
    versions: dict[str, str] = Field(default_factory=dict)  # language → the response in it
    lang: str | None = None  # the language whose version is being typed
