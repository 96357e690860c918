"""Deliveries of the same run at the same moment make one incident."""

from __future__ import annotations

import json
import threading

from sqlalchemy import func, select

from devflowfix.config import Settings
from devflowfix.db import Database
from devflowfix.integrations.crypto import SecretBox
from devflowfix.models import Incident
from devflowfix.vocabulary import Provider
from devflowfix.webhooks import service
from devflowfix.webhooks.schemas import DeliveryStatus
from factories import make_integration, signed_headers, webhook_payload


def test_two_concurrent_deliveries_of_one_run_store_one_incident(
    database: Database, settings: Settings
) -> None:
    make_integration(database, settings)
    body = json.dumps(webhook_payload("github_workflow_job_failed")).encode()
    delivery = service.Delivery(
        Provider.GITHUB,
        "acme",
        body,
        "workflow_job",
        None,
        signed_headers(body)["X-Hub-Signature-256"],
    )
    with database.transaction(write=False) as session:
        verified = service.verify_delivery(
            session, delivery, SecretBox.from_settings(settings)
        )

    results: list[DeliveryStatus] = []
    first_inserted = threading.Event()

    def second() -> None:
        first_inserted.wait()
        with database.transaction() as session:
            results.append(
                service.record_delivery(session, verified, max_log_bytes=1024).status
            )

    thread = threading.Thread(target=second)
    thread.start()
    with database.transaction() as session:
        results.append(
            service.record_delivery(session, verified, max_log_bytes=1024).status
        )
        # The second transaction starts while this one holds its insert.
        first_inserted.set()
        thread.join(timeout=0.5)
    thread.join()

    assert sorted(results) == [DeliveryStatus.CREATED, DeliveryStatus.DUPLICATE]
    with database.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
