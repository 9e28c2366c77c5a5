from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from crm.adapters import automation
from crm.api.context import tenant_id
from crm.api.schemas import NewStage, PipelineIn, PipelineOut, PipelinePatch, StageOrder, StagePatch
from crm.service import configuration

router = Router()


@router.get("/pipelines", tags=["pipelines"])
def list_pipelines(item_type: Annotated[str | None, Query()] = None) -> list[PipelineOut]:
    return [PipelineOut.of(p) for p in automation.list_pipelines(tenant_id(router), item_type)]


@router.post("/pipelines", tags=["pipelines"])
def create_pipeline(body: PipelineIn) -> tuple[PipelineOut, int]:
    return PipelineOut.of(configuration.create_pipeline(tenant_id(router), body.model_dump())), 201


@router.get("/pipelines/<pipeline_id>", tags=["pipelines"])
def get_pipeline(pipeline_id: str) -> PipelineOut:
    return PipelineOut.of(configuration.get_pipeline(tenant_id(router), pipeline_id).pipeline)


@router.patch("/pipelines/<pipeline_id>", tags=["pipelines"])
def rename_pipeline(pipeline_id: str, body: PipelinePatch) -> PipelineOut:
    return PipelineOut.of(configuration.rename_pipeline(tenant_id(router), pipeline_id, body.name))


@router.delete("/pipelines/<pipeline_id>", tags=["pipelines"])
def delete_pipeline(pipeline_id: str) -> tuple[None, int]:
    """Refused (409) while items are in the pipeline; its triggers and robots go with it."""
    configuration.delete_pipeline(tenant_id(router), pipeline_id)
    return None, 204


@router.post("/pipelines/<pipeline_id>/stages", tags=["pipelines"])
def add_stage(pipeline_id: str, body: NewStage) -> tuple[PipelineOut, int]:
    return PipelineOut.of(configuration.add_stage(tenant_id(router), pipeline_id, body.model_dump())), 201


@router.patch("/pipelines/<pipeline_id>/stages/<stage_id>", tags=["pipelines"])
def update_stage(pipeline_id: str, stage_id: str, body: StagePatch) -> PipelineOut:
    return PipelineOut.of(
        configuration.update_stage(tenant_id(router), pipeline_id, stage_id, body.model_dump())
    )


@router.put("/pipelines/<pipeline_id>/stage-order", tags=["pipelines"])
def reorder_stages(pipeline_id: str, body: StageOrder) -> PipelineOut:
    return PipelineOut.of(configuration.reorder_stages(tenant_id(router), pipeline_id, body.stage_ids))


@router.delete("/pipelines/<pipeline_id>/stages/<stage_id>", tags=["pipelines"])
def delete_stage(pipeline_id: str, stage_id: str) -> PipelineOut:
    """Refused (409) while items sit in the stage; the stage's triggers and robots go with it."""
    return PipelineOut.of(configuration.delete_stage(tenant_id(router), pipeline_id, stage_id))
