"""Requests and responses of tenders' clarifications (questions and answers) and suppliers'
interest. No public or buyer shape has a field for the asker or for who registered interest:
only staff's `StaffQuestionView` names the asker."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from marketplace.tenders import MAX_QUESTION
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

MAX_ANSWER = 8000


class AskQuestion(RequestBody):
    question: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_QUESTION, extra=FREE_TEXT)]


class AnswerQuestion(RequestBody):
    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ANSWER, extra=FREE_TEXT)]


class PublishedQuestion(msgspec.Struct, kw_only=True):
    """An answered question, as published to all: never who asked."""

    question: str
    answer: str
    answered_at: datetime


class PublishedQuestions(msgspec.Struct, kw_only=True):
    items: list[PublishedQuestion]
    consistent: bool


class OpenQuestion(msgspec.Struct, kw_only=True):
    """A question waiting for the buyer's answer: its text, never who asked."""

    id: UUID
    question: str
    asked_at: datetime


class OpenQuestions(msgspec.Struct, kw_only=True):
    items: list[OpenQuestion]
    consistent: bool


class StaffQuestionView(msgspec.Struct, kw_only=True):
    """A question as staff see it: with the asking organisation (staff only)."""

    id: UUID
    tender_id: UUID
    question: str
    asked_at: datetime
    asker_id: UUID
    # The asking organisation's name (None if membership does not know it).
    asker_name: str | None
    answer: str | None
    answered_at: datetime | None
    version: int


class InterestView(msgspec.Struct, kw_only=True):
    """Whether the caller's own organisation registered interest in the tender."""

    registered: bool
