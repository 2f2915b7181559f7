import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from medcode.lookup.v1 import lookup_pb2 as _lookup_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Intent(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTENT_UNSPECIFIED: _ClassVar[Intent]
    INTENT_CODE_MEANING: _ClassVar[Intent]
    INTENT_FIND_CODE: _ClassVar[Intent]
    INTENT_CODE_PAIR: _ClassVar[Intent]
    INTENT_SEQUENCING: _ClassVar[Intent]
    INTENT_CROSSWALK: _ClassVar[Intent]
    INTENT_CONVENTION: _ClassVar[Intent]
    INTENT_GUIDELINE: _ClassVar[Intent]
    INTENT_PCS_CHARACTER: _ClassVar[Intent]
    INTENT_MODIFIER: _ClassVar[Intent]
    INTENT_CANNOT_GROUND: _ClassVar[Intent]

class ConsultationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSULTATION_STATUS_UNSPECIFIED: _ClassVar[ConsultationStatus]
    CONSULTATION_STATUS_QUEUED: _ClassVar[ConsultationStatus]
    CONSULTATION_STATUS_ANSWERING: _ClassVar[ConsultationStatus]
    CONSULTATION_STATUS_ANSWERED: _ClassVar[ConsultationStatus]
    CONSULTATION_STATUS_MAILED: _ClassVar[ConsultationStatus]
    CONSULTATION_STATUS_FAILED: _ClassVar[ConsultationStatus]
INTENT_UNSPECIFIED: Intent
INTENT_CODE_MEANING: Intent
INTENT_FIND_CODE: Intent
INTENT_CODE_PAIR: Intent
INTENT_SEQUENCING: Intent
INTENT_CROSSWALK: Intent
INTENT_CONVENTION: Intent
INTENT_GUIDELINE: Intent
INTENT_PCS_CHARACTER: Intent
INTENT_MODIFIER: Intent
INTENT_CANNOT_GROUND: Intent
CONSULTATION_STATUS_UNSPECIFIED: ConsultationStatus
CONSULTATION_STATUS_QUEUED: ConsultationStatus
CONSULTATION_STATUS_ANSWERING: ConsultationStatus
CONSULTATION_STATUS_ANSWERED: ConsultationStatus
CONSULTATION_STATUS_MAILED: ConsultationStatus
CONSULTATION_STATUS_FAILED: ConsultationStatus

class Citation(_message.Message):
    __slots__ = ("system", "code", "title")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    system: _lookup_pb2.CodeSystem
    code: str
    title: str
    def __init__(self, system: _Optional[_Union[_lookup_pb2.CodeSystem, str]] = ..., code: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class AskRequest(_message.Message):
    __slots__ = ("question", "conversation_id", "context_code", "context_system")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_CODE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    question: str
    conversation_id: str
    context_code: str
    context_system: _lookup_pb2.CodeSystem
    def __init__(self, question: _Optional[str] = ..., conversation_id: _Optional[str] = ..., context_code: _Optional[str] = ..., context_system: _Optional[_Union[_lookup_pb2.CodeSystem, str]] = ...) -> None: ...

class AskResponse(_message.Message):
    __slots__ = ("answer", "citations", "intent", "conversation_id", "follow_ups")
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UPS_FIELD_NUMBER: _ClassVar[int]
    answer: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    intent: Intent
    conversation_id: str
    follow_ups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, answer: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., intent: _Optional[_Union[Intent, str]] = ..., conversation_id: _Optional[str] = ..., follow_ups: _Optional[_Iterable[str]] = ...) -> None: ...

class AskStreamRequest(_message.Message):
    __slots__ = ("question", "conversation_id", "context_code", "context_system")
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_CODE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    question: str
    conversation_id: str
    context_code: str
    context_system: _lookup_pb2.CodeSystem
    def __init__(self, question: _Optional[str] = ..., conversation_id: _Optional[str] = ..., context_code: _Optional[str] = ..., context_system: _Optional[_Union[_lookup_pb2.CodeSystem, str]] = ...) -> None: ...

class AskStreamDone(_message.Message):
    __slots__ = ("intent", "conversation_id", "follow_ups")
    INTENT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UPS_FIELD_NUMBER: _ClassVar[int]
    intent: Intent
    conversation_id: str
    follow_ups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, intent: _Optional[_Union[Intent, str]] = ..., conversation_id: _Optional[str] = ..., follow_ups: _Optional[_Iterable[str]] = ...) -> None: ...

class AskStreamCitations(_message.Message):
    __slots__ = ("citations",)
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    def __init__(self, citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ...) -> None: ...

class AskStreamResponse(_message.Message):
    __slots__ = ("chunk", "citations", "done")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    chunk: str
    citations: AskStreamCitations
    done: AskStreamDone
    def __init__(self, chunk: _Optional[str] = ..., citations: _Optional[_Union[AskStreamCitations, _Mapping]] = ..., done: _Optional[_Union[AskStreamDone, _Mapping]] = ...) -> None: ...

class Consultation(_message.Message):
    __slots__ = ("id", "status", "question", "answer", "citations", "created_time", "answered_time", "mailed_time", "context_code", "email", "failure_reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_TIME_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_TIME_FIELD_NUMBER: _ClassVar[int]
    MAILED_TIME_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_CODE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: ConsultationStatus
    question: str
    answer: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    created_time: _timestamp_pb2.Timestamp
    answered_time: _timestamp_pb2.Timestamp
    mailed_time: _timestamp_pb2.Timestamp
    context_code: str
    email: str
    failure_reason: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[_Union[ConsultationStatus, str]] = ..., question: _Optional[str] = ..., answer: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ..., created_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., answered_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mailed_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., context_code: _Optional[str] = ..., email: _Optional[str] = ..., failure_reason: _Optional[str] = ...) -> None: ...

class SubmitConsultationRequest(_message.Message):
    __slots__ = ("email", "question", "context_code", "context_system")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    QUESTION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_CODE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    email: str
    question: str
    context_code: str
    context_system: _lookup_pb2.CodeSystem
    def __init__(self, email: _Optional[str] = ..., question: _Optional[str] = ..., context_code: _Optional[str] = ..., context_system: _Optional[_Union[_lookup_pb2.CodeSystem, str]] = ...) -> None: ...

class SubmitConsultationResponse(_message.Message):
    __slots__ = ("consultation_id",)
    CONSULTATION_ID_FIELD_NUMBER: _ClassVar[int]
    consultation_id: str
    def __init__(self, consultation_id: _Optional[str] = ...) -> None: ...

class GetConsultationRequest(_message.Message):
    __slots__ = ("consultation_id",)
    CONSULTATION_ID_FIELD_NUMBER: _ClassVar[int]
    consultation_id: str
    def __init__(self, consultation_id: _Optional[str] = ...) -> None: ...

class GetConsultationResponse(_message.Message):
    __slots__ = ("consultation",)
    CONSULTATION_FIELD_NUMBER: _ClassVar[int]
    consultation: Consultation
    def __init__(self, consultation: _Optional[_Union[Consultation, _Mapping]] = ...) -> None: ...
