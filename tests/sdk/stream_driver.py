"""A small driving program for `letta --input-format stream-json`: two user turns; the first
call is allowed with a changed input, the second denied with a message. Echoes every line
letta printed, then `exit N`.

Usage: stream_driver.py LETTA_BIN ARGS...
"""
import json
import subprocess
import sys

p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def send(v):
    p.stdin.write((v if isinstance(v, str) else json.dumps(v)) + "\n")
    p.stdin.flush()


send({"type": "control_request", "request_id": "init-1", "request": {"subtype": "initialize"}})
send("this line is not json")
send({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": "first task"}]}})
results = 0
for line in p.stdout:
    print(line, end="")
    v = json.loads(line)
    if v.get("type") == "control_request" and v["request"]["subtype"] == "can_use_tool":
        if v["request"]["tool_name"] == "Bash":
            answer = {"behavior": "allow", "updatedInput": {"command": "echo changed > one.txt"}}
        else:
            answer = {"behavior": "deny", "message": "not today, says the driver"}
        send({"type": "control_response", "response": {"subtype": "success", "request_id": v["request_id"], "response": answer}})
    if v.get("type") == "result":
        results += 1
        if results == 1:
            send({"type": "user", "message": {"role": "user", "content": "second task"}})
        else:
            p.stdin.close()
p.wait()
print("exit", p.returncode)
