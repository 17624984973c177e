"""Drives the service with python-socketio 5, a Socket.IO client the project did not write.

Reads CLASSROOM_URL, TEACHER_TOKEN and MANAGER_TOKEN from the environment (demo org
`demo-org`, teacher `t-ada`, lesson `lesson-math`) and prints one JSON object saying what each
step saw; the vitest suite beside this file checks it.
"""

import json
import os
import threading

import socketio

URL = os.environ["CLASSROOM_URL"]
NAMESPACE = "/classroom"
TIMEOUT_S = 5
# python-socketio 5.7 raises a refused connect only once `wait_timeout` has run out (its handler
# sees the refusal at once), so attempts expected to be refused wait less.
REFUSED_WAIT_S = 1


def handshake(role, token, **extra):
    return {"role": role, "org_id": "demo-org", "auth": token, **extra}


def connect(auth, transports, namespaces=(NAMESPACE,), wait_timeout=TIMEOUT_S):
    """A connected client, or the refusal each namespace's connect_error handler received."""
    client = socketio.Client(reconnection=False)
    refusals = {}
    for namespace in namespaces:
        client.on(
            "connect_error",
            lambda data, namespace=namespace: refusals.setdefault(namespace, data),
            namespace=namespace,
        )
    try:
        client.connect(
            URL,
            auth=auth,
            transports=transports,
            namespaces=list(namespaces),
            socketio_path="sockets",
            wait_timeout=wait_timeout,
        )
    except socketio.exceptions.ConnectionError:
        return None, refusals
    return client, refusals


def join_as_teacher(transport):
    teacher, refusals = connect(handshake("teacher", os.environ["TEACHER_TOKEN"]), [transport])
    if teacher is None:
        return {"refusals": refusals}
    ack = teacher.call(
        "join_lesson",
        {"user_id": "t-ada", "lesson_id": "lesson-math", "role": "teacher"},
        namespace=NAMESPACE,
        timeout=TIMEOUT_S,
    )
    seen = {"transport": teacher.transport(), "ack": ack}
    teacher.disconnect()
    return seen


def main():
    heard = []
    teacher_heard = threading.Condition()
    manager, _ = connect(
        handshake("admin", os.environ["MANAGER_TOKEN"], product_type="manager"), ["websocket"]
    )

    @manager.on("teacher_connect", namespace=NAMESPACE)
    def on_teacher_connect(payload):
        with teacher_heard:
            heard.append(payload)
            teacher_heard.notify_all()

    def wait_to_hear(count):
        with teacher_heard:
            teacher_heard.wait_for(lambda: len(heard) >= count, timeout=TIMEOUT_S)

    result = {"websocket": join_as_teacher("websocket")}
    wait_to_hear(1)
    result["polling"] = join_as_teacher("polling")
    wait_to_hear(2)
    result["teacher_connect"] = heard
    manager.disconnect()

    _, result["bad_token"] = connect(
        handshake("teacher", "not-a-token"), ["websocket"], wait_timeout=REFUSED_WAIT_S
    )
    _, result["default_namespace"] = connect(
        handshake("teacher", os.environ["TEACHER_TOKEN"]),
        ["websocket"],
        namespaces=("/",),
        wait_timeout=REFUSED_WAIT_S,
    )
    print(json.dumps(result))


main()
