"""SQLAlchemy models of the planning database, one module per area.

Importing this package registers every table on `Base.metadata`, which Alembic and the
schema tests compare against the migrations.
"""

from planfuse.storage.models.admin import AdminSession, AdminToken
from planfuse.storage.models.approval import (
    ApprovalAttachment,
    ApprovalCase,
    ApprovalDepartment,
    ApprovalEvent,
)
from planfuse.storage.models.audit import AuditEvent
from planfuse.storage.models.base import Base
from planfuse.storage.models.catalogue import (
    ChainRun,
    Department,
    RemoteService,
    ServiceConfigChange,
    ServiceConfigValue,
    ServiceGrant,
    ServiceState,
)
from planfuse.storage.models.chains import (
    PublishedChain,
    ServiceAppLimit,
    ServiceCallCount,
    ServiceUsage,
)
from planfuse.storage.models.compliance import (
    ComplianceProject,
    ComplianceReport,
    ComplianceRuleset,
)
from planfuse.storage.models.conflicts import Conflict, ConflictEvent
from planfuse.storage.models.embed import EmbedTokenUse, HostApp, HostAppKey, ServerSecret
from planfuse.storage.models.jobs import Job, JobPart
from planfuse.storage.models.layers import (
    CURRENT_VERSION,
    Feature,
    Layer,
    LayerDerived,
    LayerVersion,
)
from planfuse.storage.models.metrics import ServiceMetric
from planfuse.storage.models.plan_monitoring import MonitoringIndicator, MonitoringReport
from planfuse.storage.models.reserve import ReserveProject
from planfuse.storage.models.siting import SitingPlan
from planfuse.storage.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "CURRENT_VERSION",
    "AdminSession",
    "AdminToken",
    "ApprovalAttachment",
    "ApprovalCase",
    "ApprovalDepartment",
    "ApprovalEvent",
    "AuditEvent",
    "Base",
    "ChainRun",
    "ComplianceProject",
    "ComplianceReport",
    "ComplianceRuleset",
    "Conflict",
    "ConflictEvent",
    "Department",
    "EmbedTokenUse",
    "Feature",
    "HostApp",
    "HostAppKey",
    "Job",
    "JobPart",
    "Layer",
    "LayerDerived",
    "LayerVersion",
    "MonitoringIndicator",
    "MonitoringReport",
    "PublishedChain",
    "RemoteService",
    "ReserveProject",
    "ServerSecret",
    "ServiceAppLimit",
    "ServiceCallCount",
    "ServiceConfigChange",
    "ServiceConfigValue",
    "ServiceGrant",
    "ServiceMetric",
    "ServiceState",
    "ServiceUsage",
    "SitingPlan",
    "WebhookDelivery",
    "WebhookSubscription",
]
