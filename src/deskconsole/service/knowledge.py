"""The knowledge base (articles) and engineering (defects and enhancements).
"""

from __future__ import annotations

from sqlalchemy import func, or_
from sqlmodel import col, select

from deskconsole.domain.errors import InvalidInput, NotFound
from deskconsole.domain.lifecycle import Status, SubStatus, check_move
from deskconsole.domain.permissions import Action
from deskconsole.domain.views import ArticleView, CaseView
from deskconsole.service.base import ServiceBase
from deskconsole.service.records import (
    MAX_SHORT,
    MAX_TITLE,
    _aware,
    _customer_address,
    _db_time,
    _fingerprint,
    _pk,
    clean_text,
)
from deskconsole.store.models import Article, CaseArticle, EngineeringItem


class KnowledgeMixin(ServiceBase):
    """The knowledge base (articles) and engineering (defects and enhancements)."""

    def add_article(self, title: str, body: str, *, state: str = "published") -> ArticleView:
        title = clean_text(title, "title", max_len=MAX_TITLE, required=True)
        body = clean_text(body, "body", required=True)
        with self._tx() as s:
            article = Article(title=title, body=body, fingerprint=_fingerprint(body), state=state,
                              created_at=_db_time(self.now()))
            s.add(article)
            s.flush()
            return self._article_view(article)

    @staticmethod
    def _article_view(a: Article) -> ArticleView:
        return ArticleView(id=_pk(a.id), title=a.title, body=a.body, state=a.state, source_case=a.source_case_id,
                           created_at=_aware(a.created_at))

    def search_articles(self, query: str, limit: int = 20) -> list[ArticleView]:
        query = clean_text(query, "search", max_len=MAX_SHORT) or ""
        words = [w for w in query.lower().split() if w][:8]
        with self._read() as s:
            stmt = select(Article)
            for word in words:
                like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                stmt = stmt.where(or_(func.lower(Article.title).like(like, escape="\\"),
                                      func.lower(Article.body).like(like, escape="\\")))
            rows = s.exec(stmt.order_by(col(Article.state).desc(), col(Article.id)).limit(limit)).all()
            return [self._article_view(a) for a in rows]

    def link_article(self, case_id: int, article_id: int, *, actor: str | None) -> CaseView:
        with self._tx() as s:
            agent = self._acting(s, actor, Action.LINK_ARTICLE)
            case = self._case(s, case_id)
            self._open_case_or_refuse(case, "link an article")
            article = s.get(Article, article_id)
            if article is None:
                raise NotFound(f"unknown article {article_id}")
            exists = s.exec(
                select(CaseArticle).where(CaseArticle.case_id == case.id, CaseArticle.article_id == article.id)
            ).first()
            if exists is not None:
                raise InvalidInput(f"article {article.id} is already linked to case {case.id}")
            now = self.now()
            s.add(CaseArticle(case_id=case.id, article_id=_pk(article.id), linked_by=agent.name,
                              linked_at=_db_time(now)))
            self._touch(case, agent.name, f"linked article {article.id}", now)
            self._event(s, case, "article_linked", agent.name, now, body=article.title, article=article.id)
            return self._case_view(s, case)

    def log_engineering(
        self, case_id: int, reference: str, summary: str, *, actor: str | None, kind: str = "defect",
        expected_version: int | None = None,
    ) -> CaseView:
        """Log a defect or enhancement with engineering: case to pending/development, customer told the reference."""
        if kind not in ("defect", "enhancement"):
            raise InvalidInput(f"kind must be defect or enhancement, not {kind!r}")
        reference = clean_text(reference, "engineering reference", max_len=100, required=True).strip()
        summary = clean_text(summary, "summary", required=True)
        with self._tx() as s:
            agent = self._acting(s, actor, Action.LOG_ENGINEERING)
            case = self._case(s, case_id)
            self._check_version(s, case, expected_version)
            status, sub = Status(case.status), self._sub(case)
            if not (status is Status.PENDING and sub is SubStatus.DEVELOPMENT):
                check_move(case.id, status, sub, Status.PENDING, SubStatus.DEVELOPMENT, None)
            now = self.now()
            s.add(EngineeringItem(case_id=case.id, kind=kind, reference=reference, summary=summary,
                                  logged_by=agent.name, logged_at=_db_time(now)))
            case.engineering_ref = reference
            event = self._event(s, case, f"{kind}_logged", agent.name, now, body=summary, reference=reference)
            if not (status is Status.PENDING and sub is SubStatus.DEVELOPMENT):
                self._enter(s, case, Status.PENDING, SubStatus.DEVELOPMENT, agent.name, now, reference=reference)
            else:
                self._touch(case, agent.name, f"logged {kind} {reference}", now)
            self._message(s, case, event, f"{kind}_logged", _customer_address(case),
                          {"case": case.id, "title": case.title, "reference": reference})
            return self._case_view(s, case)
