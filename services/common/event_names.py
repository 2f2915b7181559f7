"""The names every publisher, consumer and operator of the platform's events agrees on."""

from __future__ import annotations

# One stream holds every event of the platform; subjects are medcode.<area>.<event>.v1.
STREAM = "MEDCODE"
STREAM_SUBJECTS = ("medcode.>",)

PAGE_VIEWED = "medcode.meter.page_viewed.v1"
QUESTION_ASKED = "medcode.meter.question_asked.v1"
ACCOUNT_REGISTERED = "medcode.accounts.registered.v1"
PLAN_CHANGED = "medcode.accounts.plan_changed.v1"
CONSULTATION_REQUESTED = "medcode.assistant.consultation_requested.v1"

# The meter: a durable pull consumer shared by every accounts replica.
METER_DURABLE = "meter"
METER_SUBJECTS = ("medcode.meter.>", "medcode.accounts.>")
# Events the meter can never apply; outside METER_SUBJECTS so that they never loop back to it.
METER_DEAD_LETTERS = "medcode.dlq.meter.v1"

# The consultation worker (in the assistant): answers and mails each requested consultation once.
CONSULTATION_WORKER_DURABLE = "consultation-worker"
CONSULTATION_WORKER_DEAD_LETTERS = "medcode.dlq.consultation_worker.v1"

# Message headers. Nats-Msg-Id is JetStream's own: it drops a repeat inside the duplicate window.
MSG_ID = "Nats-Msg-Id"
EVENT_ID = "Medcode-Event-Id"
EVENT_TYPE = "Medcode-Event-Type"
OCCURRED_AT = "Medcode-Occurred-At"
TRACEPARENT = "traceparent"
# Added to a dead letter: why it could not apply, and where it came from.
DEAD_LETTER_REASON = "Medcode-Dead-Letter-Reason"
DEAD_LETTER_SUBJECT = "Medcode-Dead-Letter-Subject"
DEAD_LETTER_SEQUENCE = "Medcode-Dead-Letter-Stream-Sequence"
DEAD_LETTER_DELIVERIES = "Medcode-Dead-Letter-Deliveries"
