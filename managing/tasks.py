"""Background work for managing users: the account-creation queue."""

import logging

from celery import shared_task
from django.db import OperationalError

from managing.services import account_request_fail, account_request_fulfil

logger = logging.getLogger(__name__)


# acks_late: idempotent. A redelivered request already fulfilled (or failed) is left as it is.
# The name it had in accounts/tasks.py, so requests queued before a deploy still find their task.
@shared_task(
    name="accounts.tasks.account_request_process",
    bind=True,
    max_retries=5,
    acks_late=True,
    time_limit=60,
    soft_time_limit=50,
)
def account_request_process(self, request_id: int) -> None:
    """Create the account a queued AccountRequest asks for (a retry after a crash does nothing twice)."""
    try:
        account_request_fulfil(request_id=request_id)
    except OperationalError as exc:
        if self.request.retries >= self.max_retries:
            account_request_fail(request_id=request_id)
            raise
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    except Exception:
        logger.exception("account request %s failed", request_id)
        account_request_fail(request_id=request_id)
        raise
