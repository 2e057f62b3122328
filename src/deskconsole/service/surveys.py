"""Satisfaction surveys: answers and the summary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from deskconsole.domain.clock import to_utc
from deskconsole.domain.errors import InvalidInput, InvalidTransition
from deskconsole.domain.views import SurveySummary, SurveyView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import AnyCase, _aware, _customer_actor, _db_time, _pk, clean_text
from deskconsole.store.models import Case, Survey


class SurveysMixin(ServiceBase):
    """Satisfaction surveys: answers and the summary."""

    def answer_survey(self, case_id: int, score: Any, comment: str | None = None, *,
                      at: datetime | None = None, event_data: dict[str, Any] | None = None) -> SurveyView:
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise InvalidInput(f"survey score must be a whole number from 1 to 5, not {score!r}")
        comment = clean_text(comment, "comment")
        with self._tx() as s:
            case = self._case(s, case_id)
            survey = s.exec(select(Survey).where(Survey.case_id == case.id)).first()
            if survey is None:
                raise InvalidTransition(f"case {case.id} is {case.status}: no survey was sent (surveys follow closing)")
            if survey.answered_at is not None:
                raise InvalidTransition(f"case {case.id}: the survey was already answered (one answer per case)")
            when = self._given_time(at, case)
            survey.answered_at = _db_time(when)
            survey.score = score
            survey.comment = comment
            survey.flagged = score <= 2
            self._event(s, case, "survey_answered", _customer_actor(case), when, body=comment,
                        score=score, flagged=survey.flagged, **(event_data or {}))
            return self._survey_view(s, survey, case)

    def _survey_view(self, s: Session, sv: Survey, case: AnyCase) -> SurveyView:
        return SurveyView(
            case=_pk(case.id), sent_at=_aware(sv.sent_at), to=sv.to, answered_at=_aware(sv.answered_at), score=sv.score,
            comment=sv.comment, flagged=sv.flagged, case_title=case.title, customer=case.customer,
            assignee=self._assignee_name(s, case),
        )

    def survey_summary(self, *, weeks: int = 12, recent: int = 50) -> SurveySummary:
        with self._read() as s:
            sent = s.exec(select(func.count()).select_from(Survey)).one()
            dist_rows = s.exec(
                select(Survey.score, func.count()).where(col(Survey.score).is_not(None)).group_by(col(Survey.score))
            ).all()
            distribution = dict.fromkeys(range(1, 6), 0)
            distribution.update({int(k): int(v) for k, v in dist_rows if k is not None})
            answered = sum(distribution.values())
            good = distribution[4] + distribution[5]
            csat = round(100.0 * good / answered, 1) if answered else None
            flagged_rows = s.exec(
                select(Survey, Case).join(Case, col(Case.id) == col(Survey.case_id))
                .where(Survey.flagged == True)  # noqa: E712
                .order_by(col(Survey.answered_at).desc()).limit(recent)
            ).all()
            recent_rows = s.exec(
                select(Survey, Case).join(Case, col(Case.id) == col(Survey.case_id))
                .where(col(Survey.answered_at).is_not(None))
                .order_by(col(Survey.answered_at).desc()).limit(recent)
            ).all()
            now = self.now()
            start_of_week = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
            first = start_of_week - timedelta(weeks=weeks - 1)
            answers = s.exec(
                select(Survey.answered_at, Survey.score).where(col(Survey.answered_at) >= _db_time(first))
            ).all()
            buckets: dict[int, list[int]] = {i: [] for i in range(weeks)}
            for answered_at, score in answers:
                if answered_at is None or score is None:  # (answered surveys have both)
                    continue
                index = (to_utc(answered_at) - first).days // 7
                if 0 <= index < weeks:
                    buckets[index].append(score)
            trend = []
            for i in range(weeks):
                scores = buckets[i]
                pct = round(100.0 * sum(1 for x in scores if x >= 4) / len(scores), 1) if scores else None
                trend.append(((first + timedelta(weeks=i)).date().isoformat(), pct, len(scores)))
            return SurveySummary(
                sent=int(sent), answered=answered, distribution=distribution, csat=csat,
                flagged=[self._survey_view(s, sv, c) for sv, c in flagged_rows],
                trend=trend,
                recent=[self._survey_view(s, sv, c) for sv, c in recent_rows],
            )
