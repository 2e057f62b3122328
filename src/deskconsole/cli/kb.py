"""`deskconsole kb ...`: the knowledge base.
"""

from __future__ import annotations

from deskconsole.cli.common import MAX_ID, Context, done
from deskconsole.domain.errors import NotFound


def cmd_kb_search(ctx: Context) -> int:
    rows = ctx.service.search_articles(ctx.args.query, limit=ctx.args.limit)
    if ctx.args.json:
        ctx.out.json([r.to_json() for r in rows])
        return 0
    ctx.out.table(["ID", "STATE", "FROM CASE", "TITLE"], [[r.id, r.state, r.source_case, r.title] for r in rows],
                  widths={3: 80})
    return 0


def cmd_kb_add(ctx: Context) -> int:
    a = ctx.args
    article = ctx.service.add_article(a.title, a.body, state="draft" if a.draft else "published")
    if a.json:
        ctx.out.json(article.to_json())
    else:
        ctx.out.line(f"article {article.id} added ({article.state})")
    return 0


def cmd_kb_link(ctx: Context) -> int:
    if not 0 < ctx.args.article <= MAX_ID:
        raise NotFound(f"unknown article {ctx.args.article}")
    return done(ctx, ctx.service.link_article(ctx.args.id, ctx.args.article, actor=ctx.user))
