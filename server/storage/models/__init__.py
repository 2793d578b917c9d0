"""SQLAlchemy models of the planning database, one module per area.

Importing this package registers every table on `Base.metadata`, which Alembic and the
schema tests compare against the migrations.
"""

from planfuse.storage.models.admin import AdminToken
from planfuse.storage.models.base import Base
from planfuse.storage.models.compliance import (
    ComplianceProject,
    ComplianceReport,
    ComplianceRuleset,
)
from planfuse.storage.models.conflicts import Conflict, ConflictEvent
from planfuse.storage.models.embed import EmbedTokenUse, HostApp, HostAppKey, ServerSecret
from planfuse.storage.models.jobs import Job
from planfuse.storage.models.layers import CURRENT_VERSION, Feature, Layer, LayerVersion
from planfuse.storage.models.metrics import ServiceMetric
from planfuse.storage.models.siting import SitingPlan

__all__ = [
    "CURRENT_VERSION",
    "AdminToken",
    "Base",
    "ComplianceProject",
    "ComplianceReport",
    "ComplianceRuleset",
    "Conflict",
    "ConflictEvent",
    "EmbedTokenUse",
    "Feature",
    "HostApp",
    "HostAppKey",
    "Job",
    "Layer",
    "LayerVersion",
    "ServerSecret",
    "ServiceMetric",
    "SitingPlan",
]
