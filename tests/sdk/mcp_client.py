"""Drive `letta mcp serve` with the official MCP Python client: list the tools, read a block,
update it, search the history, and send a message. Prints one line per step.

Usage: mcp_client.py stdio LETTA_BIN AGENT_ID | mcp_client.py http URL TOKEN
"""
import asyncio
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client


def text(result):
    assert not result.isError, result
    return "".join(c.text for c in result.content if c.type == "text")


async def flow(session):
    await session.initialize()
    tools = await session.list_tools()
    print("tools:", ",".join(sorted(t.name for t in tools.tools)))
    print("read:", text(await session.call_tool("memory_read", {"label": "human"})).replace("\n", " "))
    print("update:", text(await session.call_tool("memory_update", {"label": "human", "value": "The user is Ada; she reviews Rust."})))
    print("reread:", text(await session.call_tool("memory_read", {"label": "human"})).replace("\n", " "))
    print("search:", text(await session.call_tool("conversation_search", {"query": "lighthouse"})).replace("\n", " "))
    print("send:", text(await session.call_tool("send_message", {"message": "hello from mcp", "conversation": "from claude"})).replace("\n", " "))
    bad = await session.call_tool("memory_read", {"label": "nope"})
    print("bad:", bad.isError, "".join(c.text for c in bad.content))
    empty = await session.call_tool("send_message", {"message": "   "})
    print("empty:", empty.isError, "".join(c.text for c in empty.content))
    gone = await session.call_tool("send_message", {"message": "hi", "conversation": "conv-nope"})
    print("gone:", gone.isError, "".join(c.text for c in gone.content))


async def main():
    if sys.argv[1] == "stdio":
        params = StdioServerParameters(
            command=sys.argv[2],
            args=["mcp", "serve", "--agent", sys.argv[3]],
            env=dict(os.environ),
        )
        async with stdio_client(params) as (r, w):
            async with ClientSession(r, w) as s:
                await flow(s)
    else:
        headers = {"Authorization": "Bearer " + sys.argv[3]}
        async with streamablehttp_client(sys.argv[2], headers=headers) as (r, w, _):
            async with ClientSession(r, w) as s:
                await flow(s)
    print("mcp client ok")


asyncio.run(main())
