"""Dependencies between reserve projects (B cannot start before A): every named project
must exist for the same owner, and the graph must stay free of cycles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from planfuse.errors import InvalidInput


def find_cycle(edges: Mapping[int, Iterable[int]]) -> list[int] | None:
    """One cycle of the graph `edges` (project → the projects it depends on) as a path
    whose first and last ids are equal, e.g. [3, 5, 3]; None when there is none.

    Depth-first search without recursion (a long chain must not hit Python's limit);
    nodes are visited in id order, so the cycle reported is deterministic.
    """
    white, grey, black = 0, 1, 2
    colour: dict[int, int] = {}
    for start in sorted(edges):
        if colour.get(start, white) != white:
            continue
        stack: list[tuple[int, list[int]]] = [(start, sorted(edges.get(start, ())))]
        path = [start]
        colour[start] = grey
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = black
                stack.pop()
                path.pop()
                continue
            nxt = pending.pop(0)
            state = colour.get(nxt, white)
            if state == grey:
                return [*path[path.index(nxt) :], nxt]
            if state == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append((nxt, sorted(edges.get(nxt, ()))))
    return None


def check_dependencies(
    edges: Mapping[int, Iterable[int]], known: set[int], field: str = "depends_on"
) -> None:
    """InvalidInput when a project depends on itself, on an id that is not in `known`
    (the owner's projects), or when the dependencies form a cycle (naming it)."""
    errors = []
    for project_id, deps in sorted(edges.items()):
        for dep in deps:
            if dep == project_id:
                errors.append(
                    {"field": field, "project": project_id, "message": "depends on itself"}
                )
            elif dep not in known:
                errors.append(
                    {
                        "field": field,
                        "project": project_id,
                        "message": f"project {dep} does not exist in this reserve",
                    }
                )
    if errors:
        raise InvalidInput(
            f"{len(errors)} dependency problem(s): {errors[0]['message']}",
            code="invalid_dependencies",
            errors=errors,
            title="Invalid dependencies",
        )
    cycle = find_cycle(edges)
    if cycle is not None:
        shown = " → ".join(str(i) for i in cycle)
        raise InvalidInput(
            f"the dependencies form a cycle: {shown} (each waits for the next, so none "
            "could start); remove one of these dependencies",
            code="dependency_cycle",
            errors=[{"field": field, "cycle": cycle, "message": f"cycle {shown}"}],
            title="Dependency cycle",
        )
