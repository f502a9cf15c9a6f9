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

step('client.conversations.fork')
fork = client.conversations.fork(conv.id)
assert fork.id != conv.id and fork.agent_id == agent.id
forked = [m.message_type for m in client.conversations.messages.list(fork.id)]
assert "user_message" in forked, forked

step('client.conversations.delete')
client.conversations.delete(fork.id)
client.agents.delete(agent.id)
print("sdk ok")
