"""Celery tasks: thin wrappers around the dispatcher and the sender."""

from celery import shared_task

from followup.checkins import expire_check_ins
from followup.dispatch import dispatch_due_messages
from followup.sending import send_message


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_message_task(message_id: int) -> str:
    return send_message(message_id).value


@shared_task(ignore_result=True)
def dispatch_due_messages_task() -> int:
    expire_check_ins()
    return dispatch_due_messages(enqueue=send_message_task.delay)
