from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.api.context import tenant_id
from crm.api.schemas import (
    ID_PATTERN,
    NewStage,
    PathId,
    PipelineIn,
    PipelineOut,
    PipelinePatch,
    StageOrder,
    StagePatch,
)
from crm.service import configuration

router = Router()


@router.get("/pipelines", tags=["pipelines"])
def list_pipelines(
    item_type: Annotated[str | None, Query(pattern=ID_PATTERN, description="only this type's")] = None,
) -> list[PipelineOut]:
    return [PipelineOut.of(p) for p in configuration.pipelines(tenant_id(router), item_type)]


@router.post("/pipelines", tags=["pipelines"], status_code=201)
def create_pipeline(body: PipelineIn) -> PipelineOut:
    """The type's first pipeline becomes its default. Ids not given are derived from the names,
    pipelines and stages alike: 'Awaiting payment' -> awaiting_payment (awaiting_payment_2 if taken)."""
    return PipelineOut.of(configuration.create_pipeline(tenant_id(router), body.model_dump()))


@router.get("/pipelines/<pipeline_id>", tags=["pipelines"])
def get_pipeline(pipeline_id: PathId) -> PipelineOut:
    return PipelineOut.of(configuration.get_pipeline(tenant_id(router), pipeline_id).pipeline)


@router.patch("/pipelines/<pipeline_id>", tags=["pipelines"])
def rename_pipeline(pipeline_id: PathId, body: PipelinePatch) -> PipelineOut:
    return PipelineOut.of(configuration.rename_pipeline(tenant_id(router), pipeline_id, body.name))


@router.delete("/pipelines/<pipeline_id>", tags=["pipelines"], status_code=204)
def delete_pipeline(pipeline_id: PathId) -> None:
    """Refused (409) while items are in the pipeline; its triggers and robots go with it."""
    configuration.delete_pipeline(tenant_id(router), pipeline_id)
    return Response(204)


@router.post("/pipelines/<pipeline_id>/stages", tags=["pipelines"], status_code=201)
def add_stage(pipeline_id: PathId, body: NewStage) -> PipelineOut:
    return PipelineOut.of(configuration.add_stage(tenant_id(router), pipeline_id, body.model_dump()))


@router.patch("/pipelines/<pipeline_id>/stages/<stage_id>", tags=["pipelines"])
def update_stage(pipeline_id: PathId, stage_id: PathId, body: StagePatch) -> PipelineOut:
    changes = body.model_dump(exclude_unset=True)
    return PipelineOut.of(configuration.update_stage(tenant_id(router), pipeline_id, stage_id, changes))


@router.put("/pipelines/<pipeline_id>/stage-order", tags=["pipelines"])
def reorder_stages(pipeline_id: PathId, body: StageOrder) -> PipelineOut:
    return PipelineOut.of(configuration.reorder_stages(tenant_id(router), pipeline_id, body.stage_ids))


@router.delete("/pipelines/<pipeline_id>/stages/<stage_id>", tags=["pipelines"])
def delete_stage(pipeline_id: PathId, stage_id: PathId) -> PipelineOut:
    """Refused (409) while items sit in the stage; the stage's triggers and robots go with it. A
    pipeline keeps at least one in-progress stage (422)."""
    return PipelineOut.of(configuration.delete_stage(tenant_id(router), pipeline_id, stage_id))
