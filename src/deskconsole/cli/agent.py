"""`deskconsole agent ...`: people on the desk.
"""

from __future__ import annotations

from deskconsole.cli.common import Context, safe


def cmd_agent_add(ctx: Context) -> int:
    a = ctx.args
    linking = a.login is not None and any(x.name == a.name for x in ctx.service.list_agents())
    agent = ctx.service.add_agent(a.name, a.role, actor=ctx.user, skills=a.skills, manager=a.manager, email=a.email,
                                  login=a.login)
    if a.json:
        ctx.out.json(agent.to_json())
    elif linking:  # an agent added earlier without a login: linked to it now
        ctx.out.line(f"linked {safe(agent.name)} ({agent.role}) to the database login {safe(a.login)}")
    else:
        skills = f" ({', '.join(agent.skills)})" if agent.skills else ""
        boss = f", reports to {agent.manager}" if agent.manager else ""
        ctx.out.line(f"added {safe(agent.name)}: {agent.role}{safe(skills)}{safe(boss)}")
    return 0


def cmd_agent_list(ctx: Context) -> int:
    agents = ctx.service.list_agents()
    if ctx.args.json:
        ctx.out.json([a.to_json() for a in agents])
        return 0
    ctx.out.table(
        ["NAME", "ROLE", "AVAILABILITY", "MANAGER", "OPEN", "SKILLS"],
        [[a.name, a.role, a.availability, a.manager, a.open_cases, ",".join(a.skills)] for a in agents],
    )
    return 0


def cmd_agent_availability(ctx: Context) -> int:
    agent = ctx.service.set_availability(ctx.args.name, ctx.args.availability, actor=ctx.user)
    ctx.out.line(f"{safe(agent.name)} is {agent.availability}")
    return 0
