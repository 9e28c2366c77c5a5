from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.adapters import automation
from crm.api.context import tenant_id
from crm.api.schemas import EmployeeIn, EmployeeOut, EmployeePatch
from crm.service import configuration

router = Router()


@router.get("/employees", tags=["employees"])
def list_employees() -> list[EmployeeOut]:
    return [EmployeeOut.of(e) for e in automation.list_employees(tenant_id(router))]


@router.post("/employees", tags=["employees"])
def create_employee(body: EmployeeIn) -> tuple[EmployeeOut, int]:
    return EmployeeOut.of(configuration.create_employee(tenant_id(router), body.model_dump())), 201


@router.get("/employees/<employee_id>", tags=["employees"])
def get_employee(employee_id: str) -> EmployeeOut:
    return EmployeeOut.of(automation.get_employee(tenant_id(router), employee_id))


@router.patch("/employees/<employee_id>", tags=["employees"])
def update_employee(employee_id: str, body: EmployeePatch) -> EmployeeOut:
    changes = body.model_dump(exclude_unset=True)
    return EmployeeOut.of(configuration.update_employee(tenant_id(router), employee_id, changes))
