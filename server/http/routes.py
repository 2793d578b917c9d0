"""Routes declared beside their views, added to a blueprint by the area's `register(app)`.

    routes = RouteTable()

    @routes.get("/layers/<layer_id>")
    def layer_detail_view(layer_id: str): ...

A table only records: importing a module registers nothing anywhere. `routes.add_to(bp)`
adds every route (and `after_request` hook and template context processor) to the
blueprint the area made, with the same endpoint names as Flask's own decorators (the view
function's name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint

F = TypeVar("F", bound=Callable[..., Any])


class RouteTable:
    """One module's routes and response hooks, in the order declared."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, dict[str, Any], Callable[..., Any]]] = []
        self._after_request: list[Callable[..., Any]] = []
        self._context_processors: list[Callable[..., Any]] = []

    def route(self, rule: str, **options: Any) -> Callable[[F], F]:
        """Record `view` for `rule` (options as Flask's `Blueprint.route`)."""

        def record(view: F) -> F:
            self._routes.append((rule, options, view))
            return view

        return record

    def get(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["POST"], **options)

    def put(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["PUT"], **options)

    def patch(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["PATCH"], **options)

    def delete(self, rule: str, **options: Any) -> Callable[[F], F]:
        return self.route(rule, methods=["DELETE"], **options)

    def after_request(self, hook: F) -> F:
        """Record a hook for every response of the blueprint the table is added to."""
        self._after_request.append(hook)
        return hook

    def context_processor(self, processor: F) -> F:
        """Record a function whose dict is added to every template the blueprint's views
        render."""
        self._context_processors.append(processor)
        return processor

    def add_to(self, bp: Blueprint) -> None:
        """Add the recorded hooks, context processors and routes to `bp`."""
        for hook in self._after_request:
            bp.after_request(hook)
        for processor in self._context_processors:
            bp.context_processor(processor)
        for rule, options, view in self._routes:
            options = dict(options)
            bp.add_url_rule(rule, options.pop("endpoint", None), view, **options)
