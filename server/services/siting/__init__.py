"""辅助选址 (siting): the search function service and saved siting plans (选址方案).

    search(ctx, scope, conditions, weights, limit=…)   ranked candidate parcels
    save_plan / list_plans / get_plan / run_plan / delete_plan   per app and user

See search.py for the funnel, plan.py for the layers a query reads, scoring.py for the
score, relations.py for the cache.
"""

from planfuse.services.siting.query import CRITERIA, DEFAULT_WEIGHTS, SitingQuery, parse_query
from planfuse.services.siting.search import parse_request, result_json, run_query, search

__all__ = [
    "CRITERIA",
    "DEFAULT_WEIGHTS",
    "SitingQuery",
    "parse_query",
    "parse_request",
    "result_json",
    "run_query",
    "search",
]
