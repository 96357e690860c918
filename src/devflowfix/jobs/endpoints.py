"""Job endpoints: create, watch, list, cancel, delete and download jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    Header,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import FileResponse

from devflowfix.dependencies import (
    CurrentUser,
    JobDispatcherDep,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
    require_json,
)
from devflowfix.downloads import content_disposition
from devflowfix.jobs import service
from devflowfix.jobs.schemas import (
    ActiveJob,
    ActiveJobs,
    JobCreate,
    JobPage,
    JobRead,
    JobStatisticsRead,
    JobSummary,
    JobUrls,
)
from devflowfix.routing import JobId
from devflowfix.urls import absolute_url
from devflowfix.vocabulary import JobStatus

router = APIRouter(
    prefix="/api/v1/jobs", tags=["jobs"], dependencies=[Depends(require_json)]
)

NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such job, or another user's."}
}


def _urls(request: Request, settings: SettingsDep) -> JobUrls:
    return JobUrls(absolute_url(request, settings, "/api/v1/jobs"))


UrlsDep = Annotated[JobUrls, Depends(_urls)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=JobRead,
    responses={
        403: {"description": "Your role may not run this job type."},
        409: {"description": "The Idempotency-Key was used with other parameters."},
        422: {"description": "Unknown job type or invalid parameters."},
        429: {"description": "You have too many queued or processing jobs."},
    },
)
def create_job(
    data: JobCreate,
    response: Response,
    session: WriteSessionDep,
    settings: SettingsDep,
    dispatcher: JobDispatcherDep,
    user: CurrentUser,
    urls: UrlsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Repeat a request safely: the same key and parameters "
            "return the same job.",
            max_length=255,
        ),
    ] = None,
) -> JobRead:
    """Queue a background job; poll its `status_url` until it ends."""
    job = service.enqueue_job(
        session,
        user,
        data.job_type,
        data.parameters,
        dispatcher=dispatcher,
        settings=settings,
        idempotency_key=idempotency_key,
    )

    response.headers["Location"] = urls.status_url(job)
    return JobRead.of_owned(job, urls, user.public_id)


@router.get("", response_model=JobPage)
def list_jobs(
    session: SessionDep,
    user: CurrentUser,
    urls: UrlsDep,
    job_type: Annotated[str | None, Query(max_length=64)] = None,
    job_status: Annotated[JobStatus | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JobPage:
    """Your jobs, newest first, optionally of one type or status.

    A team admin also sees the team's automatic analysis jobs.
    """
    jobs, total = service.page_jobs(
        session,
        user,
        job_type=job_type,
        status=job_status,
        page=page,
        page_size=page_size,
    )

    return JobPage(
        jobs=[JobSummary.of(job, urls) for job in jobs],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/active", response_model=ActiveJobs)
def list_active_jobs(session: SessionDep, user: CurrentUser) -> ActiveJobs:
    """Your queued and processing jobs, oldest first.

    A team admin also sees the team's automatic analysis jobs.
    """
    jobs = service.list_active_jobs(session, user)
    return ActiveJobs(count=len(jobs), jobs=[ActiveJob.of(job) for job in jobs])


@router.get("/stats/overview", response_model=JobStatisticsRead)
def read_job_statistics(session: SessionDep, user: CurrentUser) -> JobStatisticsRead:
    """How many jobs you have by status and type, and how many succeeded."""
    return JobStatisticsRead(statistics=service.job_statistics(session, user))


@router.get("/{job_id:job_id}", response_model=JobRead, responses=NOT_YOURS)
def read_job(
    job_id: JobId, session: SessionDep, user: CurrentUser, urls: UrlsDep
) -> JobRead:
    """A job's status, progress, estimated completion and result."""
    job = service.find_job(session, user, job_id)
    return JobRead.of_owned(job, urls, user.public_id)


@router.post(
    "/{job_id:job_id}/cancel",
    response_model=JobRead,
    responses={
        **NOT_YOURS,
        409: {
            "description": "The job has already ended, or has passed its commit "
            "point and runs to its end."
        },
    },
)
def cancel_job(
    job_id: JobId,
    session: WriteSessionDep,
    settings: SettingsDep,
    dispatcher: JobDispatcherDep,
    user: CurrentUser,
    urls: UrlsDep,
) -> JobRead:
    """Cancel a queued or processing job; it answers `cancelled` at once."""
    job = service.cancel_job(
        session, user, job_id, dispatcher=dispatcher, settings=settings
    )
    return JobRead.of_owned(job, urls, user.public_id)


@router.delete(
    "/{job_id:job_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_YOURS, 409: {"description": "The job is queued or processing."}},
)
def delete_job(
    job_id: JobId, session: WriteSessionDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    """Delete a completed, failed or cancelled job and its result file."""
    service.delete_job(session, user, job_id, settings=settings)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{job_id:job_id}/download",
    response_class=FileResponse,
    responses={
        **NOT_YOURS,
        200: {"description": "The result file.", "content": {"*/*": {}}},
        409: {"description": "The job has not completed."},
        410: {"description": "The result expired and was removed."},
    },
)
def download_job_result(
    job_id: JobId, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> FileResponse:
    """Download the result file of a completed job."""
    download = service.find_download(session, user, job_id, settings=settings)
    return FileResponse(
        download.path,
        media_type=download.content_type,
        headers={"Content-Disposition": content_disposition(download.filename)},
    )
