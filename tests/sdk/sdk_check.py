"""The official Letta Python SDK (letta-client) against `letta server`.

Run by tests/python_sdk.rs with LETTA_BASE_URL pointing at a server whose scripted model echoes.
"""
import os

from letta_client import Letta

client = Letta(
    base_url=os.environ["LETTA_BASE_URL"], api_key=os.environ.get("LETTA_API_KEY", "unused"), timeout=30, max_retries=0
)


def step(name):
    print(name, flush=True)


step('client.agents.create')
agent = client.agents.create(
    name="sdk-agent",
    model="openai/gpt-test",
    memory_blocks=[
        {"label": "human", "value": "The human is Ada."},
        {"label": "persona", "value": "I am a helpful agent.", "limit": 5000},
    ],
)
assert agent.id.startswith("agent-"), agent.id
labels = sorted(b.label for b in client.agents.blocks.list(agent.id))
assert labels == ["human", "persona"], labels

step('client.conversations.create')
conv = client.conversations.create(agent_id=agent.id, summary="from the sdk")
assert conv.id.startswith("conv-") and conv.agent_id == agent.id

step('client.conversations.messages.create')
stream = client.conversations.messages.create(
    conv.id, messages=[{"role": "user", "content": "hello sdk"}], streaming=True, stream_tokens=True
)
text = "".join(
    chunk.content for chunk in stream if getattr(chunk, "message_type", None) == "assistant_message"
)
assert text == "echo: hello sdk", repr(text)

step('list')
convs = list(client.conversations.list(agent_id=agent.id))
assert any(c.id == conv.id for c in convs), convs

step('list')
messages = list(client.conversations.messages.list(conv.id))
kinds = [m.message_type for m in messages]
assert "user_message" in kinds and "assistant_message" in kinds, kinds

TOOLS = [{"name": "Bash", "description": "run a command",
          "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}]
from letta_client.types.agents import ApprovalRequestMessage, SystemMessage

step('client tool: streamed approval request')
chunks = list(client.conversations.messages.create(
    conv.id, messages=[{"role": "user", "content": 'CALL_TOOL:Bash {"command": "echo hi"}'}],
    streaming=True, stream_tokens=True, client_tools=TOOLS,
))
# Every chunk decodes as its own type (none falls back to SystemMessage).
assert not any(isinstance(c, SystemMessage) for c in chunks), [type(c).__name__ for c in chunks]
requests = [c for c in chunks if isinstance(c, ApprovalRequestMessage)]
assert requests, [type(c).__name__ for c in chunks]
call_id = requests[0].tool_call.tool_call_id
assert call_id == "call_sdk" and requests[0].tool_call.name == "Bash", requests[0]
stops = [c.stop_reason for c in chunks if getattr(c, "message_type", None) == "stop_reason"]
assert stops == ["requires_approval"], stops

step('client tool: the return')
chunks = list(client.conversations.messages.create(
    conv.id,
    messages=[{"type": "approval", "approvals": [
        {"type": "tool", "tool_call_id": call_id, "tool_return": "hi", "status": "success"}]}],
    streaming=True, stream_tokens=True, client_tools=TOOLS,
))
text = "".join(c.content for c in chunks if getattr(c, "message_type", None) == "assistant_message")
assert text == "tool said: hi", repr(text)
kinds = [m.message_type for m in client.conversations.messages.list(conv.id)]
assert "tool_return_message" in kinds and "approval_request_message" in kinds, kinds

step('client.conversations.cancel')
try:
    client.conversations.cancel(conv.id)
except Exception as e:  # nothing runs: the server says so with a 409
    assert "409" in str(e) or "No active" in str(e), e

step('resume a finished run')
runs = [c.run_id for c in chunks if getattr(c, "run_id", None)]
assert runs, chunks
replay = list(client.runs.messages.stream(runs[0], starting_after=0))
assert any(getattr(c, "message_type", None) == "assistant_message" for c in replay), replay

step('client.conversations.fork')
fork = client.conversations.fork(conv.id)
assert fork.id != conv.id and fork.agent_id == agent.id
forked = [m.message_type for m in client.conversations.messages.list(fork.id)]
assert "user_message" in forked, forked

step('client.conversations.delete')
client.conversations.delete(fork.id)
client.agents.delete(agent.id)
print("sdk ok")
