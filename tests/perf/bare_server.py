"""The baseline for GetCode: a bare asyncio gRPC server that answers each code with fixed bytes.

It serves the same method name and the very bytes the lookup service sends for each code (read
once at start from the catalog), with no validation, cache or database on the request path.
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import select

from services.common.db import create_db_engine
from services.lookup import storage
from services.lookup.server import get_code_response_bytes


async def main(url: str, codes: list[str]) -> None:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(storage.codes.c.code_key, storage.codes.c.payload).where(
                storage.codes.c.system == "icd10cm", storage.codes.c.code_key.in_(codes)
            )
        ).all()
    answers = {key: get_code_response_bytes(payload) for key, payload in rows}

    async def get_code(request, context):
        return answers[request.code]

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "medcode.lookup.v1.LookupService",
                {
                    "GetCode": grpc.unary_unary_rpc_method_handler(
                        get_code,
                        request_deserializer=lookup_pb2.GetCodeRequest.FromString,
                        response_serializer=lambda payload: payload,
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2].split(",")))
