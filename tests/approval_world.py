"""Test support for coordinated approval: three host apps (the approval portal, natural
resources, environment), a registered project on the compliance world, a conflict patch
touching it, and helpers to open cases and give opinions over HTTP.

Known answers on the compliance world (tests/compliance_world.py): the red line
project(-100, 50, 100, 150) is 20,000 m², overlaps basic farmland by 10,000 m² (x 0..100,
y 50..150) and the planted conflict patch (x 0..300, y 100..300) by 5,000 m².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from compliance_world import build_world, project, storage_box
from embed_support import HostAppFixture, basic, session_headers

from planfuse.auth.apps import create_host_app
from planfuse.services.compliance.projects import register_project
from planfuse.storage.models import Conflict

PORTAL_ORIGIN = "https://portal.example.gov.cn"
NR_ORIGIN = "https://zrzy.example.gov.cn"
ENV_ORIGIN = "https://sthj.example.gov.cn"
NR = "规划和自然资源局"
ENV = "生态环境局"
RED_LINE = (-100, 50, 100, 150)
PATCH = (0, 100, 300, 300)


def plant_conflict(
    ctx, box=PATCH, analysis: str = "two_plans", type_: str = "04", geom=None
) -> int:
    """A current, non-sliver conflict patch over `box` (metres from the world's centre),
    or over `geom` (EPSG:4490) when given."""
    geom = storage_box(*box) if geom is None else geom
    minx, miny, maxx, maxy = shapely.bounds(geom)
    area = float(shapely.area(ctx.work.to_work(geom)))
    with ctx.db.session() as session:
        row = Conflict(
            analysis=analysis,
            type=type_,
            area_m2=area,
            thickness_m=50.0,
            sliver=False,
            district="500106",
            district_name="沙坪坝区",
            status="pending",
            current=True,
            sources=[{"layer": "urban_plan", "fid": 1, "code": "M1"}],
            layers={"urban_plan": 1, "land_plan": 1},
            geom=shapely.to_wkb(geom),
            minx=minx,
            miny=miny,
            maxx=maxx,
            maxy=maxy,
        )
        session.add(row)
        session.flush()
        return row.id


@dataclass
class ApprovalWorld:
    client: Any
    ctx: Any
    portal: HostAppFixture
    nr: HostAppFixture
    env: HostAppFixture
    project_id: str
    conflict_id: int

    def departments(self, **extra: Any) -> list[dict[str, Any]]:
        return [
            {"dept": NR, "app": self.nr.id, **extra},
            {"dept": ENV, "app": self.env.id, **extra},
        ]

    def open(self, **body: Any):
        payload = {"project": self.project_id, "departments": self.departments(), **body}
        return self.client.post("/api/v1/approvals", json=payload, headers=basic(self.portal))

    def open_case(self, **body: Any) -> dict[str, Any]:
        r = self.open(**body)
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def session(self, host: HostAppFixture, dept: str | None, roles=("approver",), **claims):
        return session_headers(
            self.client, host, "approval", dept=dept, roles=list(roles), **claims
        )

    def opinion(self, case_id: str, host: HostAppFixture, dept: str, body: dict, **claims):
        headers = self.session(host, dept, **claims)
        return self.client.post(f"/api/v1/approvals/{case_id}/opinions", json=body, headers=headers)


def build_approval_world(client, ctx) -> ApprovalWorld:
    build_world(ctx)
    hosts = []
    for name, origin in (("审批平台", PORTAL_ORIGIN), (NR, NR_ORIGIN), (ENV, ENV_ORIGIN)):
        record, secret = create_host_app(ctx, name, [origin])
        hosts.append(HostAppFixture(ctx, record, secret))
    portal, nr, env = hosts
    registered = register_project(
        ctx,
        portal.id,
        {
            "name": "沙坪坝物流园",
            "geometry": project(*RED_LINE),
            "crs": "EPSG:4490",
            "land_use": "0701",
            "project_type": "urban",
            "external_id": "SP-2027-001",
        },
    )
    conflict_id = plant_conflict(ctx)
    return ApprovalWorld(client, ctx, portal, nr, env, registered["id"], conflict_id)
