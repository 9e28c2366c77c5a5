from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from crm.api.context import tenant_id
from crm.api.schemas import EmployeeIn, EmployeeOut, EmployeePatch, PathId
from crm.service import configuration

router = Router()


@router.get("/employees", tags=["employees"])
def list_employees() -> list[EmployeeOut]:
    return [EmployeeOut.of(e) for e in configuration.employees(tenant_id(router))]


@router.post("/employees", tags=["employees"], status_code=201)
def create_employee(body: EmployeeIn) -> EmployeeOut:
    return EmployeeOut.of(configuration.create_employee(tenant_id(router), body.model_dump()))


@router.get("/employees/<employee_id>", tags=["employees"])
def get_employee(employee_id: PathId) -> EmployeeOut:
    return EmployeeOut.of(configuration.employee(tenant_id(router), employee_id))


@router.patch("/employees/<employee_id>", tags=["employees"])
def update_employee(employee_id: PathId, body: EmployeePatch) -> EmployeeOut:
    """A supervisor may not report to the employee, however indirectly; an inactive employee stays
    on their items but cannot be made responsible for more, or act."""
    changes = body.model_dump(exclude_unset=True)
    return EmployeeOut.of(configuration.update_employee(tenant_id(router), employee_id, changes))
