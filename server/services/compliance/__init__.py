"""Compliance review (项目合规审查): is a project's red line clear of basic farmland and the
ecological red line, inside the urban development boundary, on a compatible planned land
use, clear of sensitive zones and control lines? (DOMAIN.md "Compliance review".)

    report = check(ctx, project, crs, land_use, project_type, ruleset=None, caller=caller)

Modules: `check` (the service and its report), `rules` (the rule functions), `rulesets`
(versioned rules as data), `redline` (input validation), `uploads` (red lines from
files), `projects` (registered projects), `reports` (stored reports and exports). The
用地用海 classification is `planfuse.services.layers.land_use`.
"""

from planfuse.services.compliance.check import check, report_bytes
from planfuse.services.compliance.projects import get_project, list_projects, register_project
from planfuse.services.compliance.reports import export_csv, export_xlsx, get_report, report_json
from planfuse.services.compliance.rulesets import get_ruleset, list_rulesets, save_ruleset

__all__ = [
    "check",
    "export_csv",
    "export_xlsx",
    "get_project",
    "get_report",
    "get_ruleset",
    "list_projects",
    "list_rulesets",
    "register_project",
    "report_bytes",
    "report_json",
    "save_ruleset",
]
