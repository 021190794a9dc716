from celery import shared_task

from booking.notifications import AppointmentEvent, send_appointment_email


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_appointment_email_task(appointment_id: int, event: str) -> bool:
    return send_appointment_email(appointment_id=appointment_id, event=AppointmentEvent(event))
