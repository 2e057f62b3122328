"""`deskconsole view ...`: the views of the queue (built-in, the config file's, saved), and
`case list --view NAME`'s lookup of a view by name.
"""

from __future__ import annotations

from deskconsole.cli.common import Context
from deskconsole.domain.errors import NotFound
from deskconsole.domain.lifecycle import Role
from deskconsole.domain.saved_views import View, built_in, find_view


def views_of(ctx: Context) -> list[View]:
    """Every view of the person acting, in the console's tab order: built-in (for their role),
    the config file's, their saved ones (none for a name that is no agent)."""
    role, saved = Role.SUPERVISOR.value, []
    try:
        role = ctx.service.get_agent(ctx.user or "").role
        saved = ctx.service.saved_views(actor=ctx.user)
    except NotFound:  # (on SQLite a name that is no agent may still read)
        pass
    return [*built_in(role), *ctx.settings.views, *saved]


def named_view(ctx: Context, name: str) -> View:
    views = views_of(ctx)
    view = find_view(views, name)
    if view is None:
        raise NotFound(f"no view called {name!r}; the views: {', '.join(v.name for v in views)}")
    return view


def cmd_view_list(ctx: Context) -> int:
    views = views_of(ctx)
    if ctx.args.json:
        ctx.out.json([v.to_json() for v in views])
        return 0
    ctx.out.table(["NAME", "SOURCE", "SORT", "FILTER", "COLUMNS"],
                  [[v.name, v.source, v.sort or "-", v.to_json()["filter"] or "(every case)",
                    ",".join(v.columns) if v.columns else "-"] for v in views],
                  widths={3: 70})
    return 0


def cmd_view_save(ctx: Context) -> int:
    a = ctx.args
    columns = [c.strip() for c in a.columns.split(",")] if a.columns is not None else None
    view = ctx.service.save_view(a.name, a.filter, sort=a.sort, columns=columns, actor=ctx.user,
                                 reserved=[v.name for v in ctx.settings.views])
    ctx.out.line(f"saved view {view.name!r}: {view.filter or '(every case)'}")
    return 0


def cmd_view_delete(ctx: Context) -> int:
    view = ctx.service.delete_view(ctx.args.name, actor=ctx.user)
    ctx.out.line(f"deleted view {view.name!r}")
    return 0


__all__ = ["cmd_view_delete", "cmd_view_list", "cmd_view_save", "named_view", "views_of"]
