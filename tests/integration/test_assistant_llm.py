"""The optional language model: the real client against a local server that speaks chat completions.

The server below plays a model: it answers each POST /v1/chat/completions from what the request
holds (tool results included), asks for tools in the protocol's shape, and ends with an answer
that has a right code, a code in the wrong spelling and codes that do not exist. The retrieval
behind the tools is the real lookup service on the full catalog.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import pytest_asyncio
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.lookup.v1 import lookup_pb2_grpc

from services.assistant.catalog_client import CatalogClient
from services.assistant.engine import Assistant
from services.assistant.llm import LlmComposer
from services.assistant.settings import AssistantSettings
from services.assistant.verification import REMOVED
from tests.support.accounts_server import running_accounts, settings
from tests.support.assistant_server import bearer, running_assistant

API_KEY = "test-llm-key"
Reply = Callable[[dict], tuple[int, dict | str]]


def tool_call(call_id: str, name: str, arguments: dict) -> dict:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }
    return {
        "id": f"chatcmpl-{call_id}",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message}],
    }


def final(content: str) -> dict:
    message = {"role": "assistant", "content": content}
    return {"id": "chatcmpl-end", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}


def tool_results(request: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


def diabetes_model(request: dict) -> tuple[int, dict]:
    """Search, then read the first hit, then answer with it, a misspelling and two invented codes."""
    results = tool_results(request)
    if not results:
        return 200, tool_call(
            "1", "search_codes", {"query": "type 2 diabetes with hyperglycemia", "systems": ["icd10cm"]}
        )
    if len(results) == 1:
        first = results[0]["results"][0]
        return 200, tool_call("2", "get_code", {"system": "icd10cm", "code": first["code"]})
    code = results[1]
    return 200, final(
        f"Report `{code['code']}` ({code['title']}). Some write it e1165. "
        "Do not confuse it with E11.999 or `Z99.99`."
    )


class ChatServer:
    """A chat-completions endpoint on a free port; `reply` answers each request, `requests` keeps them."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # the name http.server calls
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append(dict(self.headers))
                status, payload = (
                    (404, {"error": "no such path"})
                    if self.path != "/v1/chat/completions"
                    else outer.reply(body)
                )
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest_asyncio.fixture
async def catalog(lookup_channel):
    return CatalogClient(lookup_pb2_grpc.LookupServiceStub(lookup_channel))


@pytest_asyncio.fixture
async def http():
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def composer_for(catalog, http, server: ChatServer) -> LlmComposer:
    return LlmComposer(catalog, http, server.url, "test-model", API_KEY)


async def test_the_model_retrieves_through_the_tools_and_its_codes_are_checked(catalog, http):
    with ChatServer(diabetes_model) as model:
        assistant = Assistant(catalog, composer=composer_for(catalog, http, model))
        answer = await assistant.answer("What is the code for type 2 diabetes with hyperglycemia?")

    assert [(c.code, c.title) for c in answer.citations] == [
        ("E11.65", "Type 2 diabetes mellitus with hyperglycemia")
    ]
    assert "Report `E11.65` (Type 2 diabetes mellitus with hyperglycemia)" in answer.markdown
    assert "Some write it E11.65." in answer.markdown  # e1165 corrected to the catalog's spelling
    assert "E11.999" not in answer.markdown and "Z99.99" not in answer.markdown
    assert answer.markdown.count(REMOVED) == 2
    assert answer.intent == "find_code"


async def test_the_requests_follow_the_chat_completions_protocol(catalog, http):
    with ChatServer(diabetes_model) as model:
        await Assistant(catalog, composer=composer_for(catalog, http, model)).answer(
            "What is the code for type 2 diabetes with hyperglycemia?"
        )

    first, second, third = model.requests
    assert first["model"] == "test-model"
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "search_codes",
        "get_code",
        "check_code_pair",
        "get_crosswalk",
        "list_guidelines",
    }
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert [m["role"] for m in third["messages"]][-4:] == ["assistant", "tool", "assistant", "tool"]
    assert second["messages"][-1]["tool_call_id"] == "1"
    assert "E11.65" in second["messages"][-1]["content"]  # the real catalog answered the tool call
    assert all(h["Authorization"] == f"Bearer {API_KEY}" for h in model.headers)


async def test_a_follow_up_tells_the_model_what_the_conversation_is_about(catalog, http):
    with ChatServer(diabetes_model) as model:
        assistant = Assistant(catalog, composer=composer_for(catalog, http, model))
        first = await assistant.answer("What is the code for type 2 diabetes with hyperglycemia?")
        await assistant.answer("and is it billable?", conversation_id=first.conversation_id)

    context = model.requests[3]["messages"][1]
    assert context["role"] == "system"
    assert "The conversation is about: icd10cm E11.65." in context["content"]


@pytest.mark.parametrize(
    "reply",
    [
        lambda request: (500, {"error": {"message": "overloaded"}}),
        lambda request: (200, "this is not JSON"),
        lambda request: (200, {"choices": []}),
        lambda request: (200, tool_call("n", "search_codes", {"query": "diabetes"})),  # never ends
    ],
    ids=["server-error", "not-json", "no-choices", "endless-tool-calls"],
)
async def test_a_model_that_fails_leaves_the_answer_to_the_deterministic_engine(catalog, http, reply):
    with ChatServer(reply) as model:
        answer = await Assistant(catalog, composer=composer_for(catalog, http, model)).answer(
            "Can E11.9 and E10.9 be coded together?"
        )
    alone = await Assistant(catalog).answer("Can E11.9 and E10.9 be coded together?")

    assert answer.markdown == alone.markdown
    assert answer.intent == "code_pair"


async def test_an_endpoint_nobody_listens_on_leaves_the_answer_to_the_engine(catalog, http):
    with ChatServer(diabetes_model) as model:
        url = model.url  # the port is free again once the server is closed
    composer = LlmComposer(catalog, http, url, "test-model")

    answer = await Assistant(catalog, composer=composer).answer("What is E11.9?")

    assert answer.markdown.startswith("### `E11.9` — Type 2 diabetes mellitus without complications")


async def test_a_tool_call_the_catalog_refuses_comes_back_to_the_model_as_an_error(catalog, http):
    composer = LlmComposer(catalog, http, "http://127.0.0.1:9/v1", "test-model")

    missing = await composer.run_tool("get_code", {"system": "icd10cm", "code": "E11.99"})
    wrong_system = await composer.run_tool("get_code", {"system": "icd11", "code": "E11.9"})
    unknown = await composer.run_tool("delete_codes", {})

    assert "'E11.99' is not a ICD-10-CM code in this catalog; nearest codes: E11.9" in missing["error"]
    assert wrong_system["error"].startswith("system must be one of")
    assert unknown == {"error": "no tool named 'delete_codes'"}


async def test_the_service_uses_the_model_named_in_its_settings(lookup_server, tmp_path):
    async with running_accounts(f"sqlite:///{tmp_path}/accounts.db", settings()) as accounts:
        token = (await accounts.account()).session_token
        with ChatServer(diabetes_model) as model:
            llm = AssistantSettings(llm_url=model.url, llm_model="test-model", llm_api_key=API_KEY)
            async with running_assistant(
                f"127.0.0.1:{lookup_server.port}", f"127.0.0.1:{accounts.running.port}", llm
            ) as assistant:
                response = await assistant.stub.Ask(
                    pb.AskRequest(question="What is the code for type 2 diabetes with hyperglycemia?"),
                    metadata=bearer(token),
                )

    assert [c.code for c in response.citations] == ["E11.65"]
    assert response.answer.startswith("Report `E11.65`")
    assert len(model.requests) == 3
